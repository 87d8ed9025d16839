import Foundation
import GobotCore
import GobotStore

/// The daily online backup of the state database: `state/backups/gobot-YYYY-MM-DD.sqlite`,
/// taken by the first step of each UTC day once the database passed its check, the newest
/// `state.backup_keep` kept. README "Restoring the state database" says how to use one.
public enum StateBackup {
    static let prefix = "gobot-", suffix = ".sqlite"

    public static func directory(_ paths: StepPaths) -> String { "\(paths.stateDir)/backups" }

    public static func path(_ paths: StepPaths, dayOf ms: Int64) -> String {
        "\(directory(paths))/\(prefix)\(day(ms))\(suffix)"
    }

    static func day(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// Existing backups, newest first (the names sort by date).
    public static func existing(_ paths: StepPaths) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(paths))) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted(by: >).map { "\(directory(paths))/\($0)" }
    }

    /// Takes today's backup unless it exists, then removes all but the newest `keep`.
    /// Returns the path written, or nil when there was nothing to do.
    @discardableResult
    public static func takeIfDue(db: GobotDatabase, paths: StepPaths, keep: Int, nowMs: Int64) throws -> String? {
        guard keep > 0 else { return nil }
        let target = path(paths, dayOf: nowMs)
        guard !FileManager.default.fileExists(atPath: target) else { return nil }
        try FileManager.default.createDirectory(atPath: directory(paths), withIntermediateDirectories: true)
        try db.backup(to: target)
        for old in existing(paths).dropFirst(keep) { try? FileManager.default.removeItem(atPath: old) }
        return target
    }
}
