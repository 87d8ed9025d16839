import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// Two processes settling the same paper books at once: the one whose replay started from a time
/// the other has since moved past must not replay those minutes again.
@Suite(.timeLimit(.minutes(1))) struct PaperSettleRaceTests {
    /// Market data whose first read of one kind waits until the test lets it go: on a 1m candle
    /// read the settler is then between its two transactions; on a price (mark price) read a
    /// market order (a stop) is between reading its time and writing its fill (itself).
    final class HeldMarket: MarketData, @unchecked Sendable {
        enum Read { case candles, price, markPrice }
        let inner: ReplayMarket
        let holding: Read
        let entered = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        private let lock = NSLock()
        private var held = false

        init(_ inner: ReplayMarket, holding: Read = .candles) { self.inner = inner; self.holding = holding }

        private func hold(_ read: Read) async {
            guard read == holding else { return }
            let first = lock.withLock { () -> Bool in
                defer { held = true }
                return !held
            }
            if first {
                entered.continuation.yield()
                for await _ in release.stream { break }
            }
        }

        func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
            await hold(.candles)
            return try await inner.candles1m(symbol: symbol, fromMs: fromMs, toMs: toMs)
        }
        func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
            try await inner.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit, nowMs: nowMs)
        }
        func price(symbol: String, atMs: Int64) async throws -> Double {
            await hold(.price)
            return try await inner.price(symbol: symbol, atMs: atMs)
        }
        func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? { try await inner.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs) }
        func symbols() -> [String] { inner.symbols() }
        func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] { try await inner.markCandles1m(symbol: symbol, fromMs: fromMs, toMs: toMs) }
        func markPrice(symbol: String, atMs: Int64) async throws -> Double {
            await hold(.markPrice)
            return try await inner.markPrice(symbol: symbol, atMs: atMs)
        }
    }

    /// Market data on which, each time the settler under test reads its candles, another process
    /// settles the books one minute further (never as far as the settler's own minute).
    final class OvertakingMarket: MarketData, @unchecked Sendable {
        let books: PaperQuietMinuteTests.Books
        let startMinute: Int64
        private let lock = NSLock()
        private var reads = 0
        private var overtakes = true
        var candleReads: Int { lock.withLock { reads } }
        func stopOvertaking() { lock.withLock { overtakes = false } }

        init(_ books: PaperQuietMinuteTests.Books, startMinute: Int64) { self.books = books; self.startMinute = startMinute }

        func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
            let (n, overtake) = lock.withLock { reads += 1; return (reads, overtakes) }
            if overtake {
                books.at(startMinute + Int64(n))
                _ = try await books.process().balanceUSDT()
            }
            return try await books.market.candles1m(symbol: symbol, fromMs: fromMs, toMs: toMs)
        }
        func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
            try await books.market.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit, nowMs: nowMs)
        }
        func price(symbol: String, atMs: Int64) async throws -> Double { try await books.market.price(symbol: symbol, atMs: atMs) }
        func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? { try await books.market.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs) }
        func symbols() -> [String] { books.market.symbols() }
        func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] { try await books.market.markCandles1m(symbol: symbol, fromMs: fromMs, toMs: toMs) }
        func markPrice(symbol: String, atMs: Int64) async throws -> Double { try await books.market.markPrice(symbol: symbol, atMs: atMs) }
    }

    /// A settler overtaken on every replay gives up after a few attempts with "try later" instead
    /// of chasing the other process (each attempt reads candles over the network); nothing is paid
    /// twice, and its next run settles.
    @Test func aSettlerOvertakenOnEveryReplayGivesUpAfterAFewAttempts() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let symbol = PaperQuietMinuteTests.symbol
        let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data
        books.at(funding - 5, second: 20)
        let ex = books.process()
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let price = try #require(Decimal(price: try books.candle(funding - 4).open))
        _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: symbol, side: .sell, kind: .stopMarket,
                                                                     triggerPrice: (price * Decimal(string: "0.9")!).rounded(scale: 4), clientAlgoId: "gb-1-SL"))
        books.at(funding - 3)
        _ = try await books.process().balanceUSDT()
        // The settler under test stands at funding + 20 min; the other one starts 3 minutes before the funding time.
        let market = OvertakingMarket(books, startMinute: funding - 3)
        let aClock = ManualClock(ms: PaperQuietMinuteTests.t0 + (funding + 20) * PaperQuietMinuteTests.minute + 5_000)
        let a = PaperExchange(db: books.db, market: market, rules: [symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                              initialBalance: 100, nowMs: { aClock.nowMs() })
        await #expect { _ = try await a.balanceUSDT() } throws: { error in
            guard let e = error as? ExchangeError, case .unavailable = e else { return false }
            return e.isTemporary
        }
        // One candle read per attempt (one symbol), a small fixed number of them.
        #expect(market.candleReads == PaperExchange.settleAttempts)
        #expect(PaperExchange.settleAttempts <= 5)
        // Nothing was written by the overtaken settler; the next run, undisturbed, settles.
        #expect(try books.snapshot().processedUntilMs == PaperQuietMinuteTests.t0 + funding * PaperQuietMinuteTests.minute)
        market.stopOvertaking()
        _ = try await a.balanceUSDT()
        // The other process settled through the funding time once; the settler under test then
        // settled the rest once: one funding payment, books at its minute.
        let books1 = try books.snapshot()
        #expect(books1.income.filter { $0.hasPrefix("FUNDING_FEE") }.count == 1)
        #expect(books1.processedUntilMs == PaperQuietMinuteTests.t0 + (funding + 20) * PaperQuietMinuteTests.minute)
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
