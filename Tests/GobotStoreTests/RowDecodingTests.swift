import Foundation
import GobotCore
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

    /// Funding and late-valued fees are added to their position by one strict helper: a column
    /// that does not read names the position, and a position that does not exist rolls the ledger
    /// row back (the record is booked later, never half; review 13, L1 and L2).
    @Test func aBookingOnAPositionColumnThatDoesNotReadOrOnNoPositionWritesNothing() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms, funding)
                VALUES ('XRPUSDT', 'long', '5', '2', '1.96', '2.08', '10', 'open', 1, 'x')
                """)
        }
        do {
            try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "funding", amount: Decimal(string: "-0.01")!, positionId: 1, ref: "f1", addsFunding: true)
            Issue.record("a funding column that does not read was added to")
        } catch {
            #expect("\(error)".contains("positions.funding (position 1) holds 'x'"))
        }
        #expect(try db.ledgerRowCount() == 0)
        // A kind the ledger does not know is an error, not "already booked" (INSERT OR IGNORE skipped it).
        #expect(throws: DatabaseError.self) {
            try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "funding_fee", amount: Decimal(string: "-0.01")!, positionId: nil, ref: "f2")
        }
        #expect(try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "funding", amount: Decimal(string: "-0.01")!, positionId: nil, ref: "f2"))
        #expect(try !db.addLedger(atMs: 11, symbol: "XRPUSDT", kind: "funding", amount: Decimal(string: "-0.01")!, positionId: nil, ref: "f2"))
        #expect(try db.ledgerRowCount() == 1)
        // A fee waiting on position 2, which does not exist: its ledger row and the waiting list stay as they were.
        let fee = UnvaluedFee(timeMs: 5, asset: "BNB", amount: Decimal(string: "0.0001")!)
        try db.setValue("5 BNB 0.0001", forKey: UnvaluedFee.key(positionId: 2), atMs: 5)
        do {
            try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "commission", amount: Decimal(string: "-0.06")!, positionId: 2, ref: "c1",
                             asset: "BNB", assetAmount: Decimal(string: "-0.0001")!, valuesFee: fee)
            Issue.record("a fee was valued into a position that does not exist")
        } catch {
            #expect("\(error)".contains("ledger.position_id holds '2'") && "\(error)".contains("does not hold"))
        }
        #expect(try db.ledgerRowCount() == 1)
        #expect(try db.value(forKey: UnvaluedFee.key(positionId: 2)) == "5 BNB 0.0001")
    }

    @Test func aLedgerAmountThatDoesNotReadStopsTheTotalsInsteadOfCountingZero() throws {
        let db = try GobotDatabase.inMemory()
        #expect(try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "realized_pnl", amount: Decimal(string: "-3.5")!, positionId: nil, ref: "a"))
        #expect(try db.ledgerTotals(fromMs: 0).net == Decimal(string: "-3.5")!)
        try db.write { db in try db.execute(sql: "UPDATE ledger SET amount_usd = 'n/a'") }
        #expect(throws: RowDecodingError(table: "ledger", column: "amount_usd", value: "n/a")) { try db.ledgerTotals(fromMs: 0) }
    }

    /// The risk check's one pass over the ledger reads each time as an integer: a damaged one
    /// used to read as 0 (before every day and week start, so left out of today's loss).
    @Test func aLedgerTimeThatDoesNotReadStopsTheRiskInputs() throws {
        let db = try GobotDatabase.inMemory()
        #expect(try db.addLedger(atMs: 10_000, symbol: "XRPUSDT", kind: "realized_pnl", amount: -25, positionId: nil, ref: "a"))
        #expect(try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 0, dayFromMs: 5_000, weekFromMs: 0).today.net == -25)
        try db.write { db in try db.execute(sql: "UPDATE ledger SET at_ms = 'yesterday'") }
        #expect(throws: RowDecodingError(table: "ledger", column: "at_ms", value: "yesterday")) {
            try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 0, dayFromMs: 5_000, weekFromMs: 0)
        }
        // The totals status, report and metrics show fail the same way (SQL's comparison left it out).
        #expect(throws: RowDecodingError(table: "ledger", column: "at_ms", value: "yesterday")) { try db.ledgerTotals(fromMs: 5_000, toMs: 20_000) }
    }

    /// Positions are read by column position: a column out of order would swap money fields
    /// (quantity, prices, P&L, fees, funding) without a word. Every reader gets every field back.
    @Test func everyPositionReaderReadsEachColumnIntoItsOwnField() throws {
        let db = try GobotDatabase.inMemory()
        let signalId = try db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 1_000,
                                          signal: Signal(direction: .short, confidence: 0.8, rationale: "t", model: "m"), referencePrice: 2, chartHashes: [])
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, signal_id, quantity, entry_price, stop_price, target_price, notional_usd, status,
                                       opened_at_ms, closed_at_ms, exit_price, exit_reason, realized_pnl, fees, funding)
                VALUES ('XRPUSDT', 'short', ?, '4.1', '2.5', '2.55', '2.4', '10.25', 'open', 10000, 20000, '2.45', 'why', '0.205', '0.01', '-0.003')
                """, arguments: [signalId])
        }
        let p = try #require(try db.positions().first)
        let d = { (text: String) in Decimal(string: text)! }
        #expect(p.id == 1 && p.symbol == "XRPUSDT" && p.side == .short && p.signalId == signalId && p.status == "open")
        #expect(p.quantity == d("4.1") && p.entryPrice == d("2.5") && p.stopPrice == d("2.55") && p.targetPrice == d("2.4"))
        #expect(p.notionalUSD == d("10.25") && p.openedAtMs == 10_000 && p.closedAtMs == 20_000 && p.exitPrice == d("2.45"))
        #expect(p.exitReason == "why" && p.realizedPnl == d("0.205") && p.fees == d("0.01") && p.funding == d("-0.003"))
        #expect(try db.position(id: 1) == p)
        #expect(try db.livePositions() == [p])
        #expect(try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 0, dayFromMs: 0, weekFromMs: 0).live == [p])
    }

    /// Positions are read by column index, where GRDB's fast path turns text into 0: a position
    /// opened today would drop out of today's trade count and exposure.
    @Test func aPositionTimeThatDoesNotReadStopsTheRiskInputs() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms, realized_pnl)
                VALUES ('XRPUSDT', 'long', '4', '2.5', '2.45', '2.6', '10', 'closed', 10000, '0.1')
                """)
        }
        #expect(try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 5_000, dayFromMs: 5_000, weekFromMs: 0).entriesToday.count == 1)
        try db.write { db in try db.execute(sql: "UPDATE positions SET opened_at_ms = 'today'") }
        #expect(throws: RowDecodingError(table: "positions", column: "opened_at_ms", value: "today")) { try db.positions() }
        #expect(throws: GobotStore.RowDecodingError.self) { try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 5_000, dayFromMs: 5_000, weekFromMs: 0) }
    }

    /// Candles are read through SQLite's C API, whose readers turn text into 0.
    @Test func aCandleThatDoesNotReadStopsTheAnalysisInsteadOfAPriceOfZero() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO candles (symbol, interval, open_time_ms, open, high, low, close, volume, close_time_ms)
                VALUES ('XRPUSDT', '1m', 0, 2.5, 2.6, 2.4, 2, 100, 59999), ('XRPUSDT', '1m', 60000, 2.5, 2.6, 2.4, 'n/a', 100, 119999)
                """)
        }
        #expect(try db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: 60_000, limit: 10).map(\.close) == [2])
        #expect(throws: RowDecodingError(table: "candles", column: "close", value: "n/a")) {
            try db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: 200_000, limit: 10)
        }
    }

    /// The breakers and the halt flag are read before every entry: a damaged row is an error naming
    /// its column (GRDB's non-optional subscript stopped the whole process), and an open breaker
    /// or a halt is never read as closed or running.
    @Test func aBreakerOrHaltRowThatDoesNotReadFailsNamingTheColumn() throws {
        let db = try GobotDatabase.inMemory()
        _ = try db.recordBreakerFailure("exchange", reason: "timeout", threshold: 1, cooldownMs: 60_000, atMs: 1_000)
        try db.setHalted(true, reason: "manual", actor: "test", atMs: 1_000)
        #expect(try db.allBreakers().map(\.openUntilMs) == [61_000] && db.breaker("exchange").failures == 1)
        #expect(try db.haltState().halted)
        try db.write { try $0.execute(sql: "UPDATE breakers SET open_until_ms = 'later'; UPDATE halt_state SET halted = 'yes'") }
        #expect(throws: RowDecodingError(table: "breakers", column: "open_until_ms", value: "later")) { try db.allBreakers() }
        #expect(throws: RowDecodingError(table: "breakers", column: "open_until_ms", value: "later")) { try db.breaker("exchange") }
        #expect(throws: RowDecodingError(table: "halt_state", column: "halted", value: "yes")) { try db.haltState() }
        #expect(throws: GobotStore.RowDecodingError.self) { try db.riskInputs(symbol: "XRPUSDT", entriesFromMs: 0, dayFromMs: 0, weekFromMs: 0) }
        // A breaker that does not exist reads as closed, as before.
        let other = try db.breaker("other")
        #expect(other.failures == 0 && other.openUntilMs == 0 && !other.isOpen(atMs: 0))
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

    /// Orders are read by column position too: every order reader gets each column into its own
    /// field (a swapped column would put a quantity where an executed quantity belongs).
    @Test func everyOrderReaderReadsEachColumnIntoItsOwnField() throws {
        let db = try GobotDatabase.inMemory()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO orders (client_order_id, position_id, symbol, side, purpose, type, quantity, trigger_price, status,
                                    exchange_order_id, avg_price, executed_qty, created_at_ms, updated_at_ms, error)
                VALUES ('gb-7-E', 7, 'XRPUSDT', 'SELL', 'entry', 'MARKET', '4.1', '2.55', 'unknown', 'x99', '2.49', '4', 1000, 2000, 'timed out')
                """)
        }
        let d = { (text: String) in Decimal(string: text)! }
        let o = try #require(try db.order(clientOrderId: "gb-7-E"))
        #expect(o.id == 1 && o.clientOrderId == "gb-7-E" && o.positionId == 7 && o.symbol == "XRPUSDT" && o.side == .sell)
        #expect(o.purpose == "entry" && o.type == "MARKET" && o.quantity == d("4.1") && o.triggerPrice == d("2.55") && o.status == "unknown")
        #expect(o.exchangeOrderId == "x99" && o.avgPrice == d("2.49") && o.executedQty == d("4") && o.createdAtMs == 1000 && o.error == "timed out")
        #expect(try db.ordersToResolve() == [o])
        #expect(try db.orders(positionId: 7) == [o])
        #expect(try db.orders() == [o])
        #expect(try db.orders(statuses: ["unknown"]) == [o])
    }

    /// An executed quantity that does not read was taken as "none executed" (nil), which could
    /// book an entry that filled as one that never did.
    @Test func anExecutedQuantityThatDoesNotReadFailsInsteadOfReadingAsNone() throws {
        let db = try GobotDatabase.inMemory()
        try db.recordIntent(clientOrderId: "gb-1-E", positionId: 1, symbol: "XRPUSDT", side: .buy, purpose: "entry", type: "MARKET",
                            quantity: 4, triggerPrice: nil, atMs: 1)
        try db.write { db in try db.execute(sql: "UPDATE orders SET executed_qty = 'four'") }
        #expect(throws: RowDecodingError(table: "orders", column: "executed_qty", value: "four")) { try db.ordersToResolve() }
    }

    /// A stored signal whose direction or cost does not read is an error: the direction used to
    /// read as "none" (a trade signal hidden from the trade step and the scorecard), the cost as 0.
    @Test func aSignalWhoseDirectionOrCostDoesNotReadFailsInsteadOfDefaulting() throws {
        let db = try GobotDatabase.inMemory()
        try db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 1_000, signal: Signal(direction: .long, confidence: 0.8, rationale: "r", model: "m"),
                           referencePrice: 2, chartHashes: [])
        #expect(try db.freshSignals(nowMs: 1_000, maxAgeMs: 60_000).map(\.signal.direction) == [.long])
        try db.write { db in try db.execute(sql: "PRAGMA ignore_check_constraints = ON; UPDATE signals SET direction = 'up'; PRAGMA ignore_check_constraints = OFF") }
        #expect(throws: RowDecodingError(table: "signals", column: "direction", value: "up")) { try db.freshSignals(nowMs: 1_000, maxAgeMs: 60_000) }
        try db.write { db in try db.execute(sql: "UPDATE signals SET direction = 'long', cost_usd = 'free'") }
        #expect(throws: RowDecodingError(table: "signals", column: "cost_usd", value: "free")) { try db.signals() }
    }

    /// Reconcile's loss breaker reads the newest closed trades only back to the last win; it must
    /// count exactly what the whole history counts (same order: close time, then id), whatever the
    /// mix of wins, losses, break-evens, funding and equal close times.
    @Test func theLossStreakAgreesWithTheWholeTradeHistory() throws {
        var rng = SplitMix(state: 12)
        for round in 0..<40 {
            let db = try GobotDatabase.inMemory()
            let n = Int.random(in: 0...12, using: &rng)
            for i in 0..<n {
                let pnl = ["-0.2", "0.4", "0", "0.01", "-0.05"].randomElement(using: &rng)!
                let fees = ["0.01", "0", "0.02"].randomElement(using: &rng)!
                let funding = ["0", "-0.02", "0.015"].randomElement(using: &rng)!
                let status = i % 5 == 4 ? "open" : "closed"
                let closedAt = status == "closed" ? String(Int.random(in: 1...4, using: &rng) * 1000) : "NULL"
                try db.write { db in
                    try db.execute(sql: """
                        INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms,
                                               closed_at_ms, realized_pnl, fees, funding)
                        VALUES (?, 'long', '4', '2.5', '2.45', '2.6', '10', ?, 1, \(closedAt), ?, ?, ?)
                        """, arguments: ["S\(i)USDT", status, status == "closed" ? pnl : nil, fees, funding])
                }
            }
            let whole = try db.tradeHistory(), streak = try db.lossStreak()
            #expect(streak.closed == whole.closed && streak.consecutiveLosses == whole.consecutiveLosses, "round \(round): \(whole) vs \(streak)")
        }
    }
}

/// A seeded generator, so a failing mix can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
