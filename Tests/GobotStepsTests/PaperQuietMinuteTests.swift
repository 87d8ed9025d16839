import Foundation
import GobotCore
import GobotStore
import GRDB
import PaperExchange
import Testing
@testable import GobotSteps

/// The paper exchange moves past a minute with no waiting conditional order and no open position
/// in one conditional UPDATE (d14100d). On the real XRPUSDT candles and funding of sample-data:
/// the minutes it moves past that way are never ones that should have triggered an order or
/// charged funding, and no minute is applied twice.
@Suite struct PaperQuietMinuteTests {
    static let symbol = "XRPUSDT"
    static let minute: Int64 = 60_000
    static let t0 = TradingHarness.t0  // sample-data's first candle
    static let market = Result { try ReplayData.load(dir: BacktestTests.sample, symbols: [symbol]) }

    /// The paper books in one database, on a clock the test moves; each `process()` is the
    /// exchange a new cron process would open on them.
    struct Books {
        let db: GobotDatabase
        let clock = ManualClock(ms: 0)
        let market: ReplayMarket

        init() throws {
            db = try GobotDatabase.inMemory()
            market = try PaperQuietMinuteTests.market.get()
        }

        func process() -> PaperExchange {
            let clock = self.clock
            return PaperExchange(db: db, market: market, rules: [PaperQuietMinuteTests.symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                                 initialBalance: 100, nowMs: { clock.nowMs() })
        }

        /// `second` seconds into minute `m` of sample-data.
        func at(_ m: Int64, second: Int64 = 5) { clock.set(PaperQuietMinuteTests.t0 + m * PaperQuietMinuteTests.minute + second * 1000) }

        func candle(_ m: Int64) throws -> Candle {
            let openMs = PaperQuietMinuteTests.t0 + m * PaperQuietMinuteTests.minute
            return try #require(market.series[PaperQuietMinuteTests.symbol]?.first { $0.openTimeMs == openMs })
        }

        struct Snapshot: Equatable {
            var balance: String
            var processedUntilMs: Int64
            var trades: [String]
            var income: [String]
            var algos: [String]
        }

        struct NoAccountYet: Error {}

        func snapshot() throws -> Snapshot {
            try db.read { db in
                guard let account = try Row.fetchOne(db, sql: "SELECT balance, processed_until_ms FROM paper_account WHERE id = 1") else { throw NoAccountYet() }
                return Snapshot(balance: account["balance"], processedUntilMs: account["processed_until_ms"],
                                trades: try String.fetchAll(db, sql: "SELECT side || ' ' || qty || ' @ ' || price || ' ' || time_ms FROM paper_trades ORDER BY id"),
                                income: try String.fetchAll(db, sql: "SELECT type || ' ' || income || ' ' || time_ms FROM paper_income ORDER BY id"),
                                algos: try String.fetchAll(db, sql: "SELECT client_algo_id || ' ' || status || ' ' || time_ms FROM paper_algo ORDER BY algo_id"))
            }
        }

        /// Settles up to the clock's minute, then lets a second process settle the same minute:
        /// it must find nothing left to apply.
        @discardableResult
        func settle(_ ex: PaperExchange) async throws -> Snapshot {
            let before = try? snapshot()
            _ = try await ex.balanceUSDT()
            let settled = try snapshot()
            _ = try await process().balanceUSDT()
            #expect(try snapshot() == settled, "a second settle of minute \((clock.nowMs() - PaperQuietMinuteTests.t0) / PaperQuietMinuteTests.minute) changed the books")
            // The settled time only grows, and reaches the clock's minute.
            #expect(settled.processedUntilMs == clock.nowMs() / PaperQuietMinuteTests.minute * PaperQuietMinuteTests.minute)
            if let before { #expect(settled.processedUntilMs >= before.processedUntilMs) }
            return settled
        }
    }

    /// The first minute from `placedMinute` on whose candle reaches the order (``FillRules``: in the
    /// minute it was placed only the close counts), with the price it is reached at.
    static func firstCrossing(_ books: Books, isStop: Bool, trigger: Decimal, placedMinute: Int64, placedAtMs: Int64,
                              through last: Int64) throws -> (minute: Int64, price: Decimal)? {
        for m in placedMinute...last {
            if let p = FillRules.protectiveFill(isStop: isStop, side: .sell, trigger: trigger, last: try books.candle(m), mark: nil, placedAtMs: placedAtMs) {
                return (m, p)
            }
        }
        return nil
    }

    @Test func aStopOrTargetPlacedAfterQuietMinutesTriggersOnTheFirstMinuteThatCrossesIt() async throws {
        let books = try Books()
        let ex = books.process()
        let entry: Int64 = 600  // 10:00 on 2025-05-20
        // Eight quiet minutes: no order, no position, only the time moves on.
        for m in (entry - 8)...entry {
            books.at(m)
            try await books.settle(ex)
        }
        // A long and its stop and target, placed 20 s into the minute; the triggers are the lowest
        // low and highest high of the 40 minutes after the next, so each is crossed first at a minute the
        // candles decide.
        books.at(entry, second: 20)
        let placedAt = books.clock.nowMs()
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let window = try ((entry + 2)...(entry + 41)).map { try books.candle($0) }
        let stop = try #require(Decimal(price: window.map(\.low).min()!)), target = try #require(Decimal(price: window.map(\.high).max()!))
        _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: Self.symbol, side: .sell, kind: .stopMarket, triggerPrice: stop, clientAlgoId: "gb-1-SL"))
        _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: Self.symbol, side: .sell, kind: .takeProfitMarket, triggerPrice: target, clientAlgoId: "gb-1-TP"))
        let stopAt = try Self.firstCrossing(books, isStop: true, trigger: stop, placedMinute: entry, placedAtMs: placedAt, through: entry + 41)
        let targetAt = try Self.firstCrossing(books, isStop: false, trigger: target, placedMinute: entry, placedAtMs: placedAt, through: entry + 41)
        // The stop wins a minute that reaches both (the pessimistic reading).
        let isStop: Bool
        if let s = stopAt, let t = targetAt { isStop = s.minute <= t.minute } else { isStop = stopAt != nil }
        let hit = try #require(isStop ? stopAt : targetAt)
        #expect(hit.minute > entry + 1)  // the data gives several minutes in which nothing may trigger

        // Minute by minute: open until the crossing minute has closed, then closed at its price.
        for m in (entry + 1)...(hit.minute + 2) {
            books.at(m)
            let settled = try await books.settle(ex)
            let open = try await ex.positions().first?.positionAmt ?? 0
            #expect(open == (m <= hit.minute ? 5 : 0), "minute \(m), crossed at \(hit.minute)")
            #expect(settled.trades.count == (m <= hit.minute ? 1 : 2), "minute \(m), crossed at \(hit.minute)")
        }
        let exitFill = try #require(try await ex.userTrades(symbol: Self.symbol, startMs: placedAt + 1, endMs: .max).first)
        #expect(exitFill.timeMs == Self.t0 + hit.minute * Self.minute + 30_000)
        #expect(exitFill.price == FillRules.slipped(hit.price, side: .sell, bps: FillRules.defaultSlippageBps, tickSize: TradingHarness.xrp.tickSize))
        #expect(try await ex.queryAlgoOrder(clientAlgoId: isStop ? "gb-1-SL" : "gb-1-TP")?.algoStatus == "FINISHED")

        // The sibling waits with no position (until reconcile cancels it): the minutes are not
        // quiet, and a jump of the clock over many of them still meets its first crossing, where it
        // expires.
        let siblingId = isStop ? "gb-1-TP" : "gb-1-SL"
        let siblingTrigger = isStop ? target : stop
        let last: Int64 = 7 * 1440 - 1  // sample-data holds 7 days
        let expiry = try #require(try Self.firstCrossing(books, isStop: !isStop, trigger: siblingTrigger, placedMinute: hit.minute + 1,
                                                         placedAtMs: placedAt, through: min(last, hit.minute + 3 * 1440)))
        books.at(expiry.minute)  // the crossing minute has not closed yet
        try await books.settle(ex)
        #expect(try await ex.queryAlgoOrder(clientAlgoId: siblingId)?.algoStatus == "NEW")
        books.at(expiry.minute + 30)
        try await books.settle(ex)
        let sibling = try #require(try await ex.queryAlgoOrder(clientAlgoId: siblingId))
        #expect(sibling.algoStatus == "EXPIRED")
        #expect(sibling.updateTimeMs == Self.t0 + expiry.minute * Self.minute)
    }

    @Test func fundingIsChargedForAPositionHeldAcrossAFundingTimeAfterQuietMinutes() async throws {
        let books = try Books()
        let ex = books.process()
        let funding: Int64 = 480  // 08:00 on 2025-05-20
        let rate = try #require(books.market.funding[Self.symbol]?[Self.t0 + funding * Self.minute])
        // Quiet minutes before it, then a position with no stop (one gobot did not open, or whose
        // stop was cancelled by hand) three minutes before the funding time.
        for m in (funding - 10)...(funding - 3) {
            books.at(m)
            try await books.settle(ex)
        }
        books.at(funding - 3, second: 20)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-2-E"))
        let afterEntry = try books.snapshot()
        let mark = try #require(Decimal(price: try books.candle(funding).open)), r = try #require(Decimal(price: rate))
        let charge = -(5 * mark * r).rounded(scale: 8)
        #expect(charge != 0)
        for m in (funding - 2)...(funding + 3) {
            books.at(m)
            let settled = try await books.settle(ex)
            let fundings = settled.income.filter { $0.hasPrefix("FUNDING_FEE") }
            if m <= funding {  // the funding minute has not closed
                #expect(fundings.isEmpty, "minute \(m)")
                #expect(settled.balance == afterEntry.balance, "minute \(m)")
            } else {
                #expect(fundings == ["FUNDING_FEE \(charge.plainString) \(Self.t0 + funding * Self.minute)"], "minute \(m)")
                #expect(Decimal(string: settled.balance) == Decimal(string: afterEntry.balance)! + charge, "minute \(m)")
            }
        }
        // Flat again, then a process whose clock is behind (another host, a replay): the settled
        // time does not go back, so the funding minute is not applied again.
        books.at(funding + 3, second: 40)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-2-X"))
        let flat = try books.snapshot()
        books.at(funding - 1)
        _ = try await books.process().balanceUSDT()
        #expect(try books.snapshot() == flat)
        // Nor does it fill there: stamped before the mark in minutes already replayed, the
        // position would never pay that funding (review 11, L2).
        await #expect { _ = try await books.process().placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-3-E")) }
            throws: { error in
                guard let e = error as? ExchangeError, case .rejected(let code, _) = e else { return false }
                return code == PaperExchange.booksNotSettledCode
            }
        #expect(try books.snapshot() == flat)
        books.at(funding + 10)
        let later = try await books.settle(books.process())
        #expect(later.income.filter { $0.hasPrefix("FUNDING_FEE") }.count == 1)
    }
}
