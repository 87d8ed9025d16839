import Foundation
import GRDB
@testable import GobotStore
import Testing

/// The C-API row reader's own rules: a statement is never re-entered while its rows are read,
/// and a reader that stops early leaves the statement ready for the next run.
@Suite struct StatementColumnsTests {
    /// GRDB's cache hands back the statement being stepped: running it again from a row closure
    /// would reset the outer read half-way (rows read twice, or a loop that never ends).
    @Test func aStatementRunAgainWhileItsRowsAreReadIsAnErrorNotAReset() throws {
        let db = try GobotDatabase.inMemory()
        try db.setValue("1", forKey: "a", atMs: 1)
        try db.setValue("2", forKey: "b", atMs: 1)
        let sql = "SELECT key FROM kv ORDER BY key"
        #expect(throws: DatabaseError.self) {
            try db.read { db in
                try GobotDatabase.step(db.cachedStatement(sql: sql)) { _ in
                    try GobotDatabase.step(db.cachedStatement(sql: sql)) { _ in }
                }
            }
        }
        // The statement was reset on the way out: the next read sees every row.
        #expect(try db.read { db in try GobotDatabase.rows(db, sql, table: "kv") { try $0.text(0, "key") } } == ["a", "b"])
    }

    @Test func aReaderThatStopsEarlyLeavesTheStatementReadyForTheNextRun() throws {
        let db = try GobotDatabase.inMemory()
        for k in ["a", "b", "c"] { try db.setValue(k, forKey: k, atMs: 1) }
        let sql = "SELECT key FROM kv ORDER BY key"
        let seen = try db.read { db in
            var seen: [String] = []
            try GobotDatabase.stepWhile(db.cachedStatement(sql: sql)) { h in
                seen.append(try StatementColumns(h: h, table: "kv").text(0, "key"))
                return seen.count < 2
            }
            return seen
        }
        #expect(seen == ["a", "b"])
        #expect(try db.read { db in try GobotDatabase.rows(db, sql, table: "kv") { try $0.text(0, "key") } } == ["a", "b", "c"])
    }
}
