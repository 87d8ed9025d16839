import Foundation
import GRDB

extension GobotDatabase {
    /// Writes a consistent, compacted copy of the live database to `path` with `VACUUM INTO`
    /// (an online backup: other processes keep reading and writing meanwhile).
    ///
    /// The copy is made under a temporary name and renamed, so a file with the final name is
    /// always complete; an existing file at `path` is never touched.
    public func backup(to path: String) throws {
        let partial = path + ".partial"
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
