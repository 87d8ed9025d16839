import Foundation

/// The state directory and database hold positions, P&L and the audit log: they are created
/// private (0700 / 0600), and `status` warns when they have become readable by others.
public enum StateFileModes {
    public static let directoryMode: mode_t = 0o700
    public static let databaseMode: mode_t = 0o600

    /// Creates the state directory 0700 if it does not exist yet (an existing one is left as the operator set it).
    public static func createStateDirectory(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: NSNumber(value: directoryMode)])
    }

    /// `gobot init` makes an existing state directory (e.g. the one a git clone created 0755) and
    /// its database private; steps only warn, since the operator may have reasons.
    public static func makePrivate(stateDir: String, database: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: directoryMode)], ofItemAtPath: stateDir)
        if FileManager.default.fileExists(atPath: database) {
            try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: databaseMode)], ofItemAtPath: database)
        }
    }

    /// One warning per path that group or others may read, with the command that fixes it.
    public static func warnings(stateDir: String, database: String) -> [String] {
        var out: [String] = []
        for (path, wanted) in [(stateDir, directoryMode), (database, databaseMode)] {
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
                  let mode = (attrs[.posixPermissions] as? NSNumber)?.uint16Value else { continue }
            if mode & 0o077 != 0 {
                out.append("\(path) is readable by others (mode \(String(mode, radix: 8))): chmod \(String(wanted, radix: 8)) \(path)")
            }
        }
        return out
    }
}
