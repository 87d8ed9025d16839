import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// Two processes settling the same paper books at once: the one whose replay started from a time
/// the other has since moved past must not replay those minutes again.
@Suite struct PaperSettleRaceTests {
    /// Market data whose first 1m candle read waits until the test lets it go: the settler is then
    /// between its two transactions.
    final class HeldMarket: MarketData, @unchecked Sendable {
        let inner: ReplayMarket
        let entered = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        private let lock = NSLock()
        private var held = false

        init(_ inner: ReplayMarket) { self.inner = inner }

        func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
            let first = lock.withLock { () -> Bool in
                defer { held = true }
                return !held
            }
            if first {
                entered.continuation.yield()
                for await _ in release.stream { break }
            }
            return try await inner.candles1m(symbol: symbol, fromMs: fromMs, toMs: toMs)
        }
        func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
            try await inner.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit, nowMs: nowMs)
        }
        func price(symbol: String, atMs: Int64) async throws -> Double { try await inner.price(symbol: symbol, atMs: atMs) }
        func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? { try await inner.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs) }
        func symbols() -> [String] { inner.symbols() }
        func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] { try await inner.markCandles1m(symbol: symbol, fromMs: fromMs, toMs: toMs) }
        func markPrice(symbol: String, atMs: Int64) async throws -> Double { try await inner.markPrice(symbol: symbol, atMs: atMs) }
    }

    @Test func aSettlerThatWasOvertakenDoesNotReplayTheMinutesAgain() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let symbol = PaperQuietMinuteTests.symbol
        let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data
        // A long with a stop and a target, held across the funding time.
        books.at(funding - 3, second: 20)
        let ex = books.process()
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let price = try #require(Decimal(price: try books.candle(funding - 2).open))
        _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: symbol, side: .sell, kind: .stopMarket,
                                                                     triggerPrice: (price * Decimal(string: "0.9")!).rounded(scale: 4), clientAlgoId: "gb-1-SL"))
        books.at(funding + 3)
        // Process A reads where the books stand, then waits for its candles; process B settles meanwhile.
        let held = HeldMarket(books.market)
        let a = PaperExchange(db: books.db, market: held, rules: [symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                              initialBalance: 100, nowMs: { books.clock.nowMs() })
        let settlingA = Task { try await a.balanceUSDT() }
        for await _ in held.entered.stream { break }
        _ = try await books.process().balanceUSDT()
        let settledByB = try books.snapshot()
        #expect(settledByB.income.filter { $0.hasPrefix("FUNDING_FEE") }.count == 1)
        held.release.continuation.yield()
        _ = try await settlingA.value
        // A found the minutes settled: funding once, balance and books as B left them.
        #expect(try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") }.count == 1)
        #expect(try books.snapshot() == settledByB)
    }
}
