import Foundation
import GobotCore
import GobotStore
import GRDB
import PaperExchange
import Testing
@testable import GobotSteps

/// The paper books wait at a funding mark whose rate is not published yet, and write the payment,
/// stamped at the mark, only once it is. Reconcile reads income from a cursor it keeps the income
/// overlap behind now: the wait must end before that cursor can pass the mark, or the payment is
/// written where reconcile no longer reads and never reaches the ledger.
@Suite struct PaperFundingReconcileTests {
    static let minute: Int64 = 60_000

    /// Reconcile every 2 min after the mark (cron), the rate published at mark+8 min: the ledger
    /// books the payment once, on the position, and the position's funding equals it. The paper
    /// books write nothing after the mark while they wait, so reconcile moves its cursor then only
    /// by the stride: the test starts from a cursor last stored each of the 70 minutes before the
    /// mark, which puts a stride store at every run after it.
    @Test(arguments: Array(Int64(0)..<70))
    func aRatePublishedLateReachesTheLedgerAndThePosition(cursorMinutesBeforeMark: Int64) async throws {
        let t0 = TradingHarness.t0, minute = Self.minute
        let markMs = t0 + 480 * minute
        let prices = Array(repeating: 2.0, count: 600), wick = 0.001
        var h = try TradingHarness(prices: prices, wick: wick, funding: [markMs: 0.0001], slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        let position = try #require(try h.db.positions().first)
        #expect(position.status == "open")
        // The same candles and rate, through a market that answers "not published" until the test publishes it.
        let candles = prices.enumerated().map { i, p in
            Candle(openTimeMs: t0 + Int64(i) * minute, open: p, high: p + wick, low: p - wick, close: p, volume: 1000)
        }
        let late = PaperLateFundingTests.LateMarket(ReplayMarket(series: ["XRPUSDT": candles], funding: ["XRPUSDT": [markMs: 0.0001]]))
        let clock = h.clock
        h.ctx.exchange = PaperExchange(db: h.db, market: late, rules: ["XRPUSDT": TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                                       slippageBps: 0, initialBalance: 100, nowMs: { clock.nowMs() })
        clock.set(t0 + 2 * minute + 7_000)
        _ = try await Steps.reconcile(h.ctx)
        try h.db.setValue(String(markMs - cursorMinutesBeforeMark * minute), forKey: "income_cursor_ms", atMs: clock.nowMs())

        func paperFunding() throws -> [(amount: Decimal, timeMs: Int64)] {
            try h.db.read { db in
                try Row.fetchAll(db, sql: "SELECT income, time_ms FROM paper_income WHERE type = 'FUNDING_FEE' ORDER BY id").map {
                    (try $0.decimal("income", table: "paper_income"), $0["time_ms"])
                }
            }
        }
        func ledgerFunding() throws -> [(amount: Decimal, atMs: Int64, positionId: Int64?)] {
            try h.db.read { db in
                try Row.fetchAll(db, sql: "SELECT amount_usd, at_ms, position_id FROM ledger WHERE kind = 'funding' ORDER BY id").map {
                    (try $0.decimal("amount_usd", table: "ledger"), $0["at_ms"], $0["position_id"])
                }
            }
        }

        for m: Int64 in [2, 4, 6] {
            clock.set(markMs + m * minute + 7_000)
            _ = try await Steps.reconcile(h.ctx)
            #expect(try paperFunding().isEmpty, "mark+\(m) min")
            #expect(try ledgerFunding().isEmpty, "mark+\(m) min")
        }
        #expect(late.asks >= 3)
        late.publish()
        clock.set(markMs + 8 * minute + 7_000)
        _ = try await Steps.reconcile(h.ctx)

        let paid = try paperFunding()
        #expect(paid.count == 1)
        let payment = try #require(paid.first)
        #expect(payment.timeMs == markMs)
        #expect(payment.amount != 0)
        let booked = try ledgerFunding()
        #expect(booked.count == 1)
        let row = try #require(booked.first)
        #expect(row.amount == payment.amount)
        #expect(row.atMs == markMs)
        #expect(row.positionId == position.id)
        let after = try #require(try h.db.positions().first { $0.id == position.id })
        #expect(after.funding == payment.amount)
    }
}
