import Foundation
import GRDB

extension GobotDatabase {
    /// Writes a consistent, compacted copy of the live database to `path` with `VACUUM INTO`
    /// (an online backup: other processes keep reading and writing meanwhile).
    ///
    /// The copy is made under a temporary name (`partial`, unique per process when several may
    /// back up at once) and renamed, so a file with the final name is always complete; an
    /// existing file at `path` is never replaced (the rename then fails).
    public func backup(to path: String, via partial: String? = nil) throws {
        let partial = partial ?? path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try writer.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [partial]) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}
