import Foundation
import GobotStore
import GRDB
import Testing

/// Money rows fail loudly: a stored amount gobot cannot read never becomes 0 (which would loosen
/// a loss limit or size a stop on nothing).
@Suite struct RowDecodingTests {
    @Test func aPositionWhoseQuantityDoesNotReadFailsLoudlyNamingTheColumn() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms)
                VALUES ('XRPUSDT', 'long', 'four', '2.5', '2.45', '2.6', '10', 'open', 1)
                """)
        }
        #expect(throws: RowDecodingError(table: "positions", column: "quantity", value: "four")) { try db.livePositions() }
        do {
            _ = try db.position(id: 1)
            Issue.record("an unreadable quantity was read")
        } catch {
            #expect("\(error)".contains("positions.quantity holds 'four'") && "\(error)".contains("restore"))
        }
    }

    @Test func aLedgerAmountThatDoesNotReadStopsTheTotalsInsteadOfCountingZero() throws {
        let db = try GobotDatabase.inMemory()
        #expect(try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "realized_pnl", amount: Decimal(string: "-3.5")!, positionId: nil, ref: "a"))
        #expect(try db.ledgerTotals(fromMs: 0).net == Decimal(string: "-3.5")!)
        try db.write { db in try db.execute(sql: "UPDATE ledger SET amount_usd = 'n/a'") }
        #expect(throws: RowDecodingError(table: "ledger", column: "amount_usd", value: "n/a")) { try db.ledgerTotals(fromMs: 0) }
    }

    /// A closed position without its realized P&L is not a break-even trade in the Kelly history.
    @Test func aClosedPositionWithoutItsPnLStopsTheTradeHistory() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms, closed_at_ms)
                VALUES ('XRPUSDT', 'long', '4', '2.5', '2.45', '2.6', '10', 'closed', 1, 2)
                """)
        }
        #expect(throws: RowDecodingError(table: "positions", column: "realized_pnl", value: "")) { try db.tradeHistory() }
    }
}
