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
        "\(directory(paths))/\(prefix)\(TradingCalendar.dayString(ms))\(suffix)"
    }

    /// Partial copies left by a process killed while writing one (older than an hour).
    static func removeAbandonedPartials(_ paths: StepPaths, nowMs: Int64) {
        let dir = directory(paths)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasSuffix(".partial") {
            let file = "\(dir)/\(name)"
            if let m = (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date,
               Date().timeIntervalSince(m) > 3600 {
                try? FileManager.default.removeItem(atPath: file)
            }
        }
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
        // Two steps starting at midnight may both get here: each writes its own partial file,
        // and the one that loses the rename discards its copy.
        let partial = "\(directory(paths))/.\((target as NSString).lastPathComponent).\(getpid()).partial"
        do {
            try db.backup(to: target, via: partial)
        } catch {
            if FileManager.default.fileExists(atPath: target) { return nil }
            throw error
        }
        for old in existing(paths).dropFirst(keep) { try? FileManager.default.removeItem(atPath: old) }
        removeAbandonedPartials(paths, nowMs: nowMs)
        return target
    }
}
