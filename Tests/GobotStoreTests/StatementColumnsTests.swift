import Foundation
import GobotCore
import GRDB
@testable import GobotStore
import Testing

/// The C-API row reader's own rules: a statement is never re-entered while its rows are read,
/// and a reader that stops early leaves the statement ready for the next run.
@Suite struct StatementColumnsTests {
    struct Restarted: Error {}

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
        // The same through `rows`, which sets arguments first (GRDB's setArguments resets the
        // statement, so a check after it never fired): the inner run is refused, the outer read
        // is not restarted half-way.
        let keyed = "SELECT key FROM kv WHERE key >= ? ORDER BY key"
        let nested = try db.read { db -> (error: DatabaseError?, outer: [String]) in
            var outer: [String] = []
            do {
                _ = try GobotDatabase.rows(db, keyed, ["a"], table: "kv") { c -> String in
                    outer.append(try c.text(0, "key"))
                    if outer.count > 3 { throw Restarted() }  // the outer read was reset: it would never end
                    return try GobotDatabase.rows(db, keyed, ["b"], table: "kv") { try $0.text(0, "key") }.joined()
                }
                return (nil, outer)
            } catch let error as DatabaseError { return (error, outer) }
        }
        #expect(nested.error?.resultCode == .SQLITE_MISUSE)
        #expect(nested.outer == ["a"])
        #expect(try db.read { db in try GobotDatabase.rows(db, keyed, ["a"], table: "kv") { try $0.text(0, "key") } } == ["a", "b"])
        // And through the candle reader, which sets its arguments the same way.
        let candles = (0..<3).map { Candle(openTimeMs: Int64($0) * 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1) }
        try db.storeCandles(symbol: "XRPUSDT", interval: .m1, candles)
        let inCandles = try db.read { db -> (error: DatabaseError?, rows: Int) in
            var rows = 0
            do {
                _ = try GobotDatabase.rows(db, GobotDatabase.candlesSQL, ["XRPUSDT", "1m", Int64.max, 10], table: "candles") { _ -> [Candle] in
                    rows += 1
                    if rows > 3 { throw Restarted() }
                    return try GobotDatabase.candles(db, symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10)
                }
                return (nil, rows)
            } catch let error as DatabaseError { return (error, rows) }
        }
        #expect(inCandles.error?.resultCode == .SQLITE_MISUSE)
        #expect(inCandles.rows == 1)
        #expect(try db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10).count == 3)
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
