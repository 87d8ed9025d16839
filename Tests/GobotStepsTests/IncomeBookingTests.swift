import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

/// Reconcile's money booking against faults between and around its writes: a failure between a
/// funding record's ledger row and its position, an income answer outside the window asked for,
/// a damaged flat sighting.
@Suite struct IncomeBookingTests {
    static let minute: Int64 = 60_000

    static func fundingRows(_ db: GobotDatabase, positionId: Int64) throws -> [Decimal] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT amount_usd FROM ledger WHERE kind = 'funding' AND position_id = ?", arguments: [positionId])
                .map { Decimal(string: $0)! }
        }
    }

    @Test func aFailureBetweenTheLedgerRowAndThePositionLosesNoFunding() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        let p = try #require(try h.db.livePositions().first)
        h.at(minute: 5)
        try IncomeCursorTests.publish(h.db, type: "FUNDING_FEE", amount: "-0.0008", atMs: TradingHarness.t0 + 3 * Self.minute)
        // The process dies (or the write fails) right after the ledger row: the position's funding is not updated.
        try h.db.write {
            try $0.execute(sql: """
                CREATE TRIGGER dies_before_funding BEFORE UPDATE OF funding ON positions
                BEGIN SELECT RAISE(ABORT, 'injected: the process died before the position''s funding'); END
                """)
        }
        let first = try await Steps.reconcile(h.ctx)
        #expect(first.exit == .failed)
        #expect(first.message.contains("injected: the process died before the position's funding"))
        try h.db.write { try $0.execute(sql: "DROP TRIGGER dies_before_funding") }
        h.at(minute: 6)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        // The ledger row was booked only with the position's funding, so the next run booked both.
        let funding = try Self.fundingRows(h.db, positionId: p.id)
        #expect(funding == [Decimal(string: "-0.0008")!])
        #expect(try h.db.position(id: p.id)?.funding == funding.reduce(0, +))
    }

    @Test func anIncomeAnswerOutsideItsWindowFailsTheBookingWithoutMovingTheCursor() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        h.at(minute: 20)
        let cursor = TradingHarness.t0 + 10 * Self.minute, now = h.clock.nowMs()
        try h.db.setValue(String(cursor), forKey: "income_cursor_ms", atMs: now)
        // One record before the cursor (booked or not, it is not what was asked for) and one inside the window.
        try IncomeCursorTests.publish(h.db, type: "COMMISSION", amount: "-0.01", atMs: cursor - 5 * Self.minute)
        try IncomeCursorTests.publish(h.db, type: "COMMISSION", amount: "-0.02", atMs: cursor + 5 * Self.minute)
        h.exchange.incomeIgnoresTimes = true
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed)
        #expect(r.message.contains("income: asked for \(cursor)...\(now) ms, the answer holds a record at \(cursor - 5 * Self.minute) ms"))
        // Nothing of the answer is booked, the cursor stays, and it was one request, not a crawl.
        #expect(try h.db.ledgerRowCount() == 0)
        #expect(try h.db.value(forKey: "income_cursor_ms") == String(cursor))
        #expect(h.exchange.windows.count == 1)
        // An endpoint that honours the times again: the record in the window is booked, once.
        h.exchange.incomeIgnoresTimes = false
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.ledgerRowCount() == 1)
    }

    @Test func aPageOfOneMillisecondThatHoldsOtherTimesFailsTheBooking() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        h.at(minute: 20)
        let cursor = TradingHarness.t0 + 10 * Self.minute
        try h.db.setValue(String(cursor), forKey: "income_cursor_ms", atMs: h.clock.nowMs())
        // A full page in the cursor's millisecond, then one record later in the window: page 2 is
        // asked for that millisecond alone, and an endpoint that ignores the times answers the later one.
        try h.db.write { db in
            for _ in 0..<IncomeRecord.pageSize {
                try db.execute(sql: "INSERT INTO paper_income (symbol, type, income, time_ms) VALUES ('XRPUSDT', 'COMMISSION', '-0.001', ?)", arguments: [cursor])
            }
        }
        try IncomeCursorTests.publish(h.db, type: "COMMISSION", amount: "-0.02", atMs: cursor + 5 * Self.minute)
        h.exchange.incomeIgnoresTimes = true
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed)
        #expect(r.message.contains("income: asked for \(cursor)...\(cursor) ms, the answer holds a record at \(cursor + 5 * Self.minute) ms"))
        #expect(try h.db.ledgerRowCount() == 0)
        #expect(h.exchange.windows.count == 2)  // the full page and page 2, no crawl
        #expect(try h.db.value(forKey: "income_cursor_ms") == String(cursor))
    }

    /// Not a time gobot writes (13 digits, no sign, no leading zero, not before the position
    /// opened; review 17, L1): "0" or a negative time read as
    /// one would end the 15-minute wait at once, and `Int64.min` would trap the subtraction (review 13, L3).
    @Test(arguments: ["12:05", "0", "-5", "+\(TradingHarness.t0)", "\(TradingHarness.t0)\n", " \(TradingHarness.t0)", "0\(TradingHarness.t0)",
                      "\(Int64.min)", "99999999999999999999", "999999999999", "", "1000000000000", "\(TradingHarness.t0 - 3_600_000)"])
    func aFlatSightingThatDoesNotReadIsAnErrorNamingItsKey(_ stored: String) async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        let p = try #require(try h.db.livePositions().first)
        let key = Steps.flatWithoutFillKey(p.id)
        try h.db.setValue(stored, forKey: key, atMs: h.clock.nowMs())
        h.at(minute: 10)
        h.exchange.flatPositionListings = 2  // the exchange lists the symbol flat; no fill closes the position
        let r = try await Steps.reconcile(h.ctx)
        // It read as "not seen yet" and was overwritten: the 15-minute wait started over unsaid.
        #expect(r.exit == .failed)
        #expect(r.message.contains("kv.value (key \(key)) holds \(stored.isEmpty ? "no value" : "'\(stored)'"), which gobot cannot read"))
        #expect(r.message.contains("DELETE FROM kv WHERE key = '\(key)'"))
        #expect(try h.db.value(forKey: key) == stored)
        // The position and its stop stay.
        #expect(try h.db.livePositions().map(\.id) == [p.id])
        #expect(try await h.exchange.inner.openAlgoOrders(symbol: nil).map(\.orderType).sorted() == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
    }

    /// Every time gobot writes reads back, whatever its clock: a backtest or a `GOBOT_NOW_MS`
    /// replay of 2017 spot dumps writes a 2017 cursor, which a date floor refused on the next
    /// run, aborting the backtest (review 16, M1).
    @Test(arguments: [Int64(1_500_000_000_000), TradingHarness.t0, 9_999_999_999_999])
    func aTimeGobotWritesReadsBack(_ ms: Int64) throws {
        #expect(try Steps.storedMs(String(ms), key: "income_cursor_ms", then: "") == ms)
        #expect(try Steps.incomeCursor(String(ms)) == ms)
    }

    /// An income booking that keeps failing leaves the loss limits blind to new P&L: past three
    /// hours without booking, trade enters nothing and says why; once reconcile books again, it does.
    @Test func entriesStopWhileTheIncomeHistoryHasNotBeenBookedForHours() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 300), slippageBps: 0)
        h.at(minute: 20)
        let cursor = TradingHarness.t0 + 10 * Self.minute
        try h.db.setValue(String(cursor), forKey: "income_cursor_ms", atMs: h.clock.nowMs())
        // A record before the cursor, which an endpoint ignoring the times answers to every window.
        try IncomeCursorTests.publish(h.db, type: "COMMISSION", amount: "-0.01", atMs: cursor - 5 * Self.minute)
        h.exchange.incomeIgnoresTimes = true
        h.at(minute: 230)
        #expect(try await Steps.reconcile(h.ctx).exit == .failed)  // the stray record fails the booking
        try h.signal(.long, confidence: 0.9)
        let r = try await Steps.trade(h.ctx)
        #expect(r.message.contains("ledger_stale: income has not been booked for"))
        #expect(try h.db.signals().last?.decision?.hasPrefix("ledger_stale:") == true)
        #expect(try h.db.livePositions().isEmpty)
        // The endpoint answers sanely again: reconcile books, and the next signal is gated as usual.
        h.exchange.incomeIgnoresTimes = false
        h.at(minute: 235)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        try h.signal(.long, confidence: 0.9)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().last?.decision?.hasPrefix("ledger_stale:") == false)
    }

    /// A new database whose income booking fails from the first run never gets a cursor: the
    /// lag then runs from gobot's first position, and past three hours trade enters nothing.
    @Test func entriesStopWhenReconcileHasNeverBookedTheIncomeHistory() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 300), slippageBps: 0)
        h.exchange.incomeError = .unavailable("GET /fapi/v1/income: HTTP 503")
        try h.signal(.long, confidence: 0.9)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.livePositions().count == 1)
        h.at(minute: 2)
        #expect(try await Steps.reconcile(h.ctx).exit != .ok)
        #expect(try h.db.value(forKey: Steps.incomeCursorKey) == nil)
        // Minutes after the first entry, a missing cursor is what a healthy first run looks like.
        try h.signal(.long, confidence: 0.9)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().last?.decision?.hasPrefix("ledger_stale:") == false)
        h.at(minute: 200)
        #expect(try await Steps.reconcile(h.ctx).exit != .ok)
        try h.signal(.long, confidence: 0.9)
        let r = try await Steps.trade(h.ctx)
        #expect(r.message.contains("ledger_stale: reconcile has never booked the income history, and gobot has held positions for 199 min"))
        #expect(try h.db.signals().last?.decision?.hasPrefix("ledger_stale:") == true)
        // The endpoint answers again: reconcile books, writes its cursor, and the gate opens.
        h.exchange.incomeError = nil
        h.at(minute: 202)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.value(forKey: Steps.incomeCursorKey) != nil)
        try h.signal(.long, confidence: 0.9)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().last?.decision?.hasPrefix("ledger_stale:") == false)
    }

    /// A cursor ahead of the exchange's clock (a host clock set back, an edited value) says
    /// nothing of what was booked: it is no lag of zero, entries stop until reconcile rewrites it.
    @Test func entriesStopWhileTheIncomeCursorIsAheadOfTheExchangesClock() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 300), slippageBps: 0)
        h.at(minute: 20)
        try h.db.setValue(String(h.clock.nowMs() + 120 * Self.minute), forKey: Steps.incomeCursorKey, atMs: h.clock.nowMs())
        try h.signal(.long, confidence: 0.9)
        let r = try await Steps.trade(h.ctx)
        #expect(r.message.contains("ledger_stale: the income cursor is 120 min ahead of the exchange's clock"))
        #expect(try h.db.livePositions().isEmpty)
        // Reconcile reads the history again and writes a cursor behind now: entries go on.
        h.at(minute: 21)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        try h.signal(.long, confidence: 0.9)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.livePositions().count == 1)
    }

    /// Binance keeps three months of income: a cursor from 2001 (a hand edit, damage) walked a
    /// thousand weekly windows that could only come back empty. Reconcile reads the last 100
    /// days, says so, and writes its cursor from there. The paper exchange keeps every record it
    /// made, so its cursor is followed as it stands.
    @Test func anIncomeCursorOlderThanTheExchangeKeepsReadsItsLastHundredDays() async throws {
        let old: Int64 = 1_000_000_000_000  // 2001-09-09
        for environment in [ExchangeEnvironment.demo, .live, .paper] {
            var h = try TradingHarness(prices: Array(repeating: 2.0, count: 300), slippageBps: 0)
            h.ctx.config.exchange.environment = environment
            h.at(minute: 20)
            try h.db.setValue(String(old), forKey: Steps.incomeCursorKey, atMs: h.clock.nowMs())
            #expect(try await Steps.reconcile(h.ctx).exit == .ok)
            let now = h.clock.nowMs()
            let first = try #require(h.exchange.windows.first)
            let warned = try !MoneySafetyTests.outbox(h, containing: "days old; Binance keeps three months of income").isEmpty
            if environment == .paper {
                #expect(first.startMs == old && !warned)
            } else {
                #expect(first.startMs == now - Steps.incomeKeptMs, "\(environment)")
                #expect(h.exchange.windows.count <= 15 && warned, "\(environment): \(h.exchange.windows.count) windows")
            }
            let cursor = try #require(try h.db.value(forKey: Steps.incomeCursorKey).flatMap { Int64($0) })
            #expect(cursor > now - Steps.incomeKeptMs && cursor <= now)
        }
    }
}
