import GobotCore
import GobotStore
import GRDB
import GRDBSQLite
import Testing

/// Candles are bound through SQLite's C API (9078f8b): a bind that fails must say why.
@Suite struct CandleBindTests {
    @Test func aFailedBindReportsItsOwnCodeNotTheLastBindsOK() throws {
        let db = try GobotDatabase.inMemory()
        // Strings longer than 5 bytes are too big on this connection: the symbol's bind, the
        // first of a candle's nine, fails with SQLITE_TOOBIG and the eight after it succeed (each
        // success resets the connection's error code to SQLITE_OK).
        try db.write { db in _ = sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_LENGTH, 5) }
        let candle = Candle(openTimeMs: 1_747_699_200_000, open: 2, high: 2.1, low: 1.9, close: 2, volume: 10)
        do {
            try db.storeCandles(symbol: "XRPUSDT", interval: .m1, [candle])
            Issue.record("a candle whose symbol cannot be bound was stored")
        } catch let error as DatabaseError {
            // It reported result code 0 and "not an error".
            #expect(error.resultCode == .SQLITE_TOOBIG)
            #expect(error.message == "binding the 1m candle of XRPUSDT at 1747699200000 ms: string or blob too big")
        }
        try db.write { db in _ = sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_LENGTH, 1_000_000_000) }
        #expect(try db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10).isEmpty)
    }
}
