import Foundation
import GobotCore
import GobotStore
import GRDB
import PaperExchange
import Testing
@testable import GobotSteps

/// Paper trading on live prices asks Binance for each funding rate after its mark, and Binance
/// publishes the record some time later: a rate not published yet must not be skipped for good.
@Suite struct PaperLateFundingTests {
    static let symbol = PaperQuietMinuteTests.symbol
    static let minute = PaperQuietMinuteTests.minute
    static let t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data

    /// The sample-data market as the live exchange answers it: every funding rate is "not
    /// published yet" until the test publishes them; the asks are counted.
    final class LateMarket: MarketData, @unchecked Sendable {
        let inner: ReplayMarket
        private let lock = NSLock()
        private var published = false
        private var count = 0
        var asks: Int { lock.withLock { count } }
        func publish() { lock.withLock { published = true } }

        init(_ inner: ReplayMarket) { self.inner = inner }

        func funding(symbol: String, fundingTimeMs: Int64) async throws -> FundingLookup {
            let published = lock.withLock { () -> Bool in
                count += 1
                return self.published
            }
            guard published else { return .notPublished }
            return try await inner.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs).map(FundingLookup.rate) ?? .notPublished
        }
        func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] { try await inner.candles1m(symbol: symbol, fromMs: fromMs, toMs: toMs) }
        func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
            try await inner.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit, nowMs: nowMs)
        }
        func price(symbol: String, atMs: Int64) async throws -> Double { try await inner.price(symbol: symbol, atMs: atMs) }
        /// As `LiveMarket`: nil while the record is not published.
        func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? {
            guard lock.withLock({ published }) else { return nil }
            return try await inner.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs)
        }
        func symbols() -> [String] { inner.symbols() }
    }

    /// A new cron process on the books: a new exchange over the same database and market.
    static func process(_ books: PaperQuietMinuteTests.Books, _ market: LateMarket) -> PaperExchange {
        let clock = books.clock
        return PaperExchange(db: books.db, market: market, rules: [symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                             initialBalance: 100, nowMs: { clock.nowMs() })
    }

    static func fundings(_ books: PaperQuietMinuteTests.Books) throws -> [String] {
        try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") }
    }

    /// The rate comes only after several asks: the replay waits at the mark (the minutes before it
    /// are settled), a market order meanwhile is refused (definitely) and fills nothing, and
    /// once the rate is there the position held at the mark pays it exactly once.
    @Test func aFundingRatePublishedLateIsChargedOnce() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let market = LateMarket(books.market)
        let markMs = Self.t0 + Self.funding * Self.minute
        let rate = try #require(books.market.funding[Self.symbol]?[markMs])
        books.at(Self.funding - 3, second: 20)
        _ = try await Self.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let charge = -(5 * (try #require(Decimal(price: try books.candle(Self.funding).open))) * (try #require(Decimal(price: rate)))).rounded(scale: 8)
        #expect(charge != 0)
        // Two settles find no rate: the books stop at the mark.
        for m in (Self.funding + 1)...(Self.funding + 2) {
            books.at(m)
            _ = try await Self.process(books, market).balanceUSDT()
            #expect(try Self.fundings(books).isEmpty, "minute \(m)")
            #expect(try books.snapshot().processedUntilMs == markMs, "minute \(m)")
        }
        #expect(market.asks == 2)
        // A close now would change the position the held minutes replay with: it waits. The
        // paper exchange knows nothing was filled, so it refuses definitely (no "outcome unknown"
        // look-ups and alarm in the trade step; review 10, L1).
        let trades = try books.snapshot().trades
        await #expect {
            _ = try await Self.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X"))
        } throws: { error in
            guard let e = error as? ExchangeError, case .rejected(let code, _) = e else { return false }
            return code == PaperExchange.booksNotSettledCode && e.provesNothingExecuted
        }
        #expect(try books.snapshot().trades == trades)
        market.publish()
        // The rate is published: charged once, at the mark, and the books reach the clock's minute.
        books.at(Self.funding + 3)
        _ = try await Self.process(books, market).balanceUSDT()
        #expect(try Self.fundings(books) == ["FUNDING_FEE \(charge.plainString) \(markMs)"])
        #expect(try books.snapshot().processedUntilMs == Self.t0 + (Self.funding + 3) * Self.minute)
        books.at(Self.funding + 20)
        _ = try await Self.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X2"))
        books.at(Self.funding + 30)
        _ = try await Self.process(books, market).balanceUSDT()
        #expect(try Self.fundings(books).count == 1)
    }

    /// A rate that never comes: the books wait at most `fundingPublicationWaitMs`, then settle
    /// past the mark without it, and an alert names the symbol and the mark.
    /// While the books are held at a mark, every call of a step settles again (positions, orders,
    /// income pages, each market-order attempt): one process asks `/fapi/v1/fundingRate` once per
    /// half minute, not on every call (rule 6, review 10 L2); and past the wait it asks again
    /// before giving up.
    @Test func aProcessHeldAtAMarkDoesNotAskForTheRateOnEveryCall() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let market = LateMarket(books.market)
        let markMs = Self.t0 + Self.funding * Self.minute
        books.at(Self.funding - 3, second: 20)
        _ = try await Self.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-3-E"))
        books.at(Self.funding + 2)
        let step = Self.process(books, market)
        for _ in 0..<5 {
            _ = try await step.balanceUSDT()
            _ = try await step.positions()
        }
        _ = try? await step.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-3-X"))
        #expect(market.asks == 1, "asks within one process in the same half minute")
        #expect(try books.snapshot().processedUntilMs == markMs)
        // Calls every 10 s do not postpone the next ask: half a minute after the first it asks again.
        for second: Int64 in [15, 25, 35] {
            books.at(Self.funding + 2, second: second)
            _ = try await step.balanceUSDT()
        }
        #expect(market.asks == 2, "asked again 30 s after the first ask, whatever came between (review 11, L1)")
        books.at(Self.funding + 2, second: 40)
        _ = try await step.balanceUSDT()
        #expect(market.asks == 2)
        // Past the wait it asks once more (the rate may have come) before settling past the mark,
        // even when it heard "not published" moments before.
        books.at(Self.funding + 8, second: 50)
        _ = try await step.balanceUSDT()
        #expect(market.asks == 3)
        market.publish()
        books.at(Self.funding + 9, second: 5)
        _ = try await step.balanceUSDT()
        #expect(market.asks == 4)
        #expect(try Self.fundings(books).count == 1, "published just before the wait ran out: charged, not given up")
    }

    @Test func aRateStillMissingPastTheWaitIsSettledPastWithAnAlert() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let market = LateMarket(books.market)
        let markMs = Self.t0 + Self.funding * Self.minute
        books.at(Self.funding - 3, second: 20)
        _ = try await Self.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-2-E"))
        let waitMinutes = PaperExchange.fundingPublicationWaitMs / Self.minute
        books.at(Self.funding + waitMinutes - 1)
        _ = try await Self.process(books, market).balanceUSDT()
        #expect(try books.snapshot().processedUntilMs == markMs)
        #expect(try books.db.outbox().isEmpty)
        books.at(Self.funding + waitMinutes)
        _ = try await Self.process(books, market).balanceUSDT()
        #expect(try books.snapshot().processedUntilMs == Self.t0 + (Self.funding + waitMinutes) * Self.minute)
        #expect(try Self.fundings(books).isEmpty)
        let alerts = try books.db.outbox().map(\.payload)
        #expect(alerts.count == 1)
        #expect(alerts.first?.contains("paper funding of XRPUSDT at 2025-05-20T08:00:00Z: the exchange published no rate 9 min after the mark") == true)
    }

    /// The wait ends before reconcile's booking cursor can pass the mark (it stays the income
    /// overlap behind now): a payment stamped at its mark but written late is still booked.
    @Test func theWaitEndsBeforeTheIncomeCursorCanPassTheMark() {
        #expect(PaperExchange.fundingPublicationWaitMs < Steps.incomeOverlapMs)
    }
}
