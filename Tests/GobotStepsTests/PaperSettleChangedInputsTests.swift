import Foundation
import GobotCore
import GobotStore
import GRDB
import PaperExchange
import Testing
@testable import GobotSteps

/// A settler reads which symbols to replay (waiting orders, open positions) and which of them pay
/// funding, reads their candles, then writes. A fill or a stop committed meanwhile by a process
/// whose clock minute is still the books' settled minute must not be missed by that write
/// (review 11, L2); nor may a fill land in minutes another settler already replayed.
// A held read that never happens would hang the suite: it fails after a minute instead (review 14, N2).
@Suite(.timeLimit(.minutes(1))) struct PaperSettleChangedInputsTests {
    static let symbol = PaperQuietMinuteTests.symbol
    static let other = "ETHUSDT"
    static let minute = PaperQuietMinuteTests.minute
    static let t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data
    static let eth = SymbolRules(symbol: other, tickSize: Decimal(string: "0.01")!, stepSize: Decimal(string: "0.001")!,
                                 minQty: Decimal(string: "0.001")!, minNotional: 20)
    static let twoSymbols = Result { try ReplayData.load(dir: BacktestTests.sample, symbols: [symbol, other]) }

    static func exchange(_ db: GobotDatabase, _ market: any MarketData, _ clock: ManualClock) -> PaperExchange {
        PaperExchange(db: db, market: market, rules: [symbol: TradingHarness.xrp, other: eth], feeRate: Decimal(string: "0.0005")!,
                      initialBalance: 100, nowMs: { clock.nowMs() })
    }

    static func ms(_ m: Int64, second: Int64 = 5) -> Int64 { t0 + m * minute + second * 1000 }

    static func column(_ db: GobotDatabase, _ sql: String) throws -> [String] { try db.read { try String.fetchAll($0, sql: sql) } }

    /// A target left waiting with no position (reconcile has not cancelled it yet), far from the
    /// price: the books have something to replay, and it never triggers.
    static func leftoverTarget(_ ex: PaperExchange, symbol: String, tick: Int) async throws {
        let price = try #require(Decimal(price: try await ex.markPrice(symbol: symbol)))
        _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: symbol, side: .sell, kind: .takeProfitMarket,
                                                                     triggerPrice: (price * Decimal(string: "1.5")!).rounded(scale: tick),
                                                                     clientAlgoId: "gb-0-TP"))
    }

    /// Process A stands 3 minutes past the funding mark with only a waiting order on the books;
    /// it reads the books (nothing held), then waits for its candles. Process B, still in the
    /// minute before the mark, opens a long meanwhile. A's write must not settle the mark
    /// without that position: it pays the funding once.
    @Test func aPositionOpenedWhileASettlerReplaysPaysTheFundingInItsWindowOnce() async throws {
        let books = try PaperQuietMinuteTests.Books()
        books.at(Self.funding - 3)
        try await Self.leftoverTarget(books.process(), symbol: Self.symbol, tick: 4)
        books.at(Self.funding - 1)
        _ = try await books.process().balanceUSDT()
        #expect(try books.snapshot().processedUntilMs == Self.ms(Self.funding - 1, second: 0))

        let held = PaperSettleRaceTests.HeldMarket(books.market)
        let aClock = ManualClock(ms: Self.ms(Self.funding + 3))
        let a = Self.exchange(books.db, held, aClock)
        let settlingA = Task { try await a.balanceUSDT() }
        for await _ in held.entered.stream { break }
        // B: the books' settled minute is its own, so it fills, 10 s before the mark.
        books.at(Self.funding - 1, second: 50)
        let b = books.process()
        let entry = try await b.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        #expect(entry.updateTimeMs == Self.ms(Self.funding - 1, second: 50))
        held.release.continuation.yield()
        _ = try await settlingA.value

        let markMs = Self.t0 + Self.funding * Self.minute
        let r = try #require(books.market.funding[Self.symbol]?[markMs])
        let rate = try #require(Decimal(price: r))
        let mark = try #require(Decimal(price: try books.candle(Self.funding).open))
        let charge = -(5 * mark * rate).rounded(scale: 8)
        #expect(charge != 0)
        let settled = try books.snapshot()
        #expect(settled.processedUntilMs == Self.ms(Self.funding + 3, second: 0))
        #expect(settled.income.filter { $0.hasPrefix("FUNDING_FEE") } == ["FUNDING_FEE \(charge.plainString) \(markMs)"])
        // Later settles do not charge it again.
        books.at(Self.funding + 10)
        try await books.settle(books.process())
        #expect(try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") } == ["FUNDING_FEE \(charge.plainString) \(markMs)"])
    }

    /// Process A has only an ETH order to replay; process B, at the books' settled minute, opens
    /// an XRP long and places its stop while A waits for its candles. The stop is crossed inside
    /// A's window: it fills at the first candle that reaches it, at that candle's price.
    @Test func aStopPlacedWhileASettlerReplaysTriggersAtItsOwnCandle() async throws {
        let market = try Self.twoSymbols.get()
        let db = try GobotDatabase.inMemory()
        let clock = ManualClock(ms: Self.ms(597))
        try await Self.leftoverTarget(Self.exchange(db, market, clock), symbol: Self.other, tick: 2)
        let start: Int64 = 600, window: Int64 = 15
        clock.set(Self.ms(start))
        _ = try await Self.exchange(db, market, clock).balanceUSDT()

        let held = PaperSettleRaceTests.HeldMarket(market)
        let aClock = ManualClock(ms: Self.ms(start + window))
        let a = Self.exchange(db, held, aClock)
        let settlingA = Task { try await a.balanceUSDT() }
        for await _ in held.entered.stream { break }
        // B, 20 s into the settled minute: a long and a stop a tick above the lowest low of the
        // window's later minutes, so it is crossed inside A's window at a minute the candles decide.
        clock.set(Self.ms(start, second: 20))
        let placedAt = clock.nowMs()
        let b = Self.exchange(db, market, clock)
        _ = try await b.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let xrp = try #require(market.series[Self.symbol])
        func candle(_ m: Int64) throws -> Candle { try #require(xrp.first { $0.openTimeMs == Self.t0 + m * Self.minute }) }
        let lowest = try #require(Decimal(price: try ((start + 2)..<(start + window)).map { try candle($0).low }.min()!))
        let stop = lowest + TradingHarness.xrp.tickSize
        _ = try await b.placeProtectiveOrder(ProtectiveOrderRequest(symbol: Self.symbol, side: .sell, kind: .stopMarket, triggerPrice: stop, clientAlgoId: "gb-1-SL"))
        var hit: (minute: Int64, price: Decimal)?
        for m in start..<(start + window) where hit == nil {
            hit = FillRules.protectiveFill(isStop: true, side: .sell, trigger: stop, last: try candle(m), mark: nil, placedAtMs: placedAt).map { (m, $0) }
        }
        let crossed = try #require(hit)
        held.release.continuation.yield()
        _ = try await settlingA.value

        #expect(try Self.column(db, "SELECT CAST(processed_until_ms AS TEXT) FROM paper_account") == [String(Self.ms(start + window, second: 0))])
        #expect(try Self.column(db, "SELECT status FROM paper_algo WHERE client_algo_id = 'gb-1-SL'") == ["FINISHED"])
        let exitPrice = FillRules.slipped(crossed.price, side: .sell, bps: FillRules.defaultSlippageBps, tickSize: TradingHarness.xrp.tickSize)
        #expect(try Self.column(db, "SELECT side || ' ' || qty || ' @ ' || price || ' ' || time_ms FROM paper_trades WHERE symbol = 'XRPUSDT' ORDER BY id").last
                == "SELL 5 @ \(exitPrice.plainString) \(Self.t0 + crossed.minute * Self.minute + 30_000)")
        #expect(try Self.column(db, "SELECT amt FROM paper_positions WHERE symbol = 'XRPUSDT'") == ["0"])
    }

    /// An entry reads its time at 07:59:59.9, then waits for its price; meanwhile another process
    /// on the same clock settles the books past the 08:00 mark. Stamped 07:59:59.9 in minutes
    /// already replayed, the position would be held at the mark and never pay it: the entry is
    /// filled on books settled to its own minute instead, at the time it is filled, after the mark.
    @Test func aFillWhosePriceReadOutlastsAnotherSettleLandsAtItsOwnMinute() async throws {
        let books = try PaperQuietMinuteTests.Books()
        books.at(Self.funding - 1)
        _ = try await books.process().balanceUSDT()
        books.clock.set(Self.t0 + Self.funding * Self.minute - 100)
        let held = PaperSettleRaceTests.HeldMarket(books.market, holding: .price)
        let b = Self.exchange(books.db, held, books.clock)
        let entering = Task {
            try await b.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        }
        for await _ in held.entered.stream { break }
        let filledAt = Self.t0 + (Self.funding + 1) * Self.minute + 300
        books.clock.set(filledAt)
        _ = try await books.process().balanceUSDT()
        #expect(try books.snapshot().processedUntilMs == Self.t0 + (Self.funding + 1) * Self.minute)
        held.release.continuation.yield()
        let entry = try await entering.value
        #expect(entry.updateTimeMs == filledAt)
        #expect(try books.snapshot().trades.map { $0.hasSuffix(" \(filledAt)") } == [true])
        // Opened after the mark: the books that replayed it were right not to charge it.
        books.at(Self.funding + 3)
        try await books.settle(books.process())
        #expect(try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") }.isEmpty)
    }

    /// A stop reads its time at 10:00:59.9, then waits for the mark price; meanwhile another
    /// process on the same clock settles the position's minutes up to 10:03 without it. Stamped
    /// 10:00:59.9, it would claim to have waited through candles nobody checked it on: it is
    /// placed at the books' settled time, after the minutes already replayed.
    @Test func aStopWhoseMarkReadOutlastsAnotherSettleIsPlacedAfterTheReplayedMinutes() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let entryMinute: Int64 = 600
        books.at(entryMinute, second: 20)
        _ = try await books.process().placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let price = try #require(Decimal(price: try books.candle(entryMinute + 1).open))
        books.clock.set(Self.t0 + (entryMinute + 1) * Self.minute - 100)
        let held = PaperSettleRaceTests.HeldMarket(books.market, holding: .markPrice)
        let b = Self.exchange(books.db, held, books.clock)
        let placing = Task {
            try await b.placeProtectiveOrder(ProtectiveOrderRequest(symbol: Self.symbol, side: .sell, kind: .stopMarket,
                                                                    triggerPrice: (price * Decimal(string: "0.9")!).rounded(scale: 4), clientAlgoId: "gb-1-SL"))
        }
        for await _ in held.entered.stream { break }
        let placedAt = Self.t0 + (entryMinute + 3) * Self.minute + 300
        books.clock.set(placedAt)
        _ = try await books.process().balanceUSDT()
        let replayedUntil = try books.snapshot().processedUntilMs
        #expect(replayedUntil == Self.t0 + (entryMinute + 3) * Self.minute)
        held.release.continuation.yield()
        let stop = try await placing.value
        // At the settled time: the first minute no replay has checked yet (not the clock after the
        // await, which could land a minute later; review 14, L1).
        #expect(stop.updateTimeMs == replayedUntil)
        #expect(try books.snapshot().algos == ["gb-1-SL NEW \(replayedUntil)"])
    }
}
