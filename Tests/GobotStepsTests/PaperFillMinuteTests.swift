import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// A paper market order settles the books, then awaits the symbol's rules (live exchangeInfo in
/// paper trading on live prices) and only then reads the time that stamps its fill: when that
/// await crosses a minute, the fill must not land on books settled only up to the minute before.
@Suite struct PaperFillMinuteTests {
    static let symbol = PaperQuietMinuteTests.symbol
    static let minute = PaperQuietMinuteTests.minute
    static let t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data

    /// Moves the clock once, the first time the rules are fetched after `arm()`.
    final class SlowRules: @unchecked Sendable {
        private let lock = NSLock()
        private var to: Int64?
        let clock: ManualClock
        init(_ clock: ManualClock) { self.clock = clock }
        func arm(movingTo ms: Int64) { lock.withLock { to = ms } }
        func fetched() {
            if let ms = lock.withLock({ () -> Int64? in defer { to = nil }; return to }) { clock.set(ms) }
        }
    }

    static func process(_ books: PaperQuietMinuteTests.Books, _ rules: SlowRules) -> PaperExchange {
        let clock = books.clock
        return PaperExchange(db: books.db, market: books.market, rulesProvider: { _ in rules.fetched(); return [Self.symbol: TradingHarness.xrp] },
                             feeRate: Decimal(string: "0.0005")!, initialBalance: 100, nowMs: { clock.nowMs() })
    }

    static func fundings(_ books: PaperQuietMinuteTests.Books) throws -> [String] {
        try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") }
    }

    /// An entry sent at 08:00:59.8 whose rules come back at 08:01:00.3 fills at 08:01:00.3, after
    /// the funding minute: it does not pay that funding. A close in the same window does, since the
    /// position was held through the whole funding minute.
    @Test func aFillWhoseRulesFetchCrossesAMinuteLandsOnBooksSettledUpToIt() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let rules = SlowRules(books.clock)
        let markMs = Self.t0 + Self.funding * Self.minute
        for m in (Self.funding - 5)...Self.funding {
            books.at(m)
            _ = try await Self.process(books, rules).balanceUSDT()
        }
        // The entry: settled up to 08:00 when it is sent, filled after 08:01.
        books.clock.set(markMs + 59_800)
        rules.arm(movingTo: markMs + Self.minute + 300)
        let entry = try await Self.process(books, rules).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        #expect(entry.updateTimeMs == markMs + Self.minute + 300)
        books.at(Self.funding + 3)
        _ = try await Self.process(books, rules).balanceUSDT()
        #expect(try Self.fundings(books).isEmpty)

        // The close: held across the next funding mark, sent at 16:00:59.8, filled after 16:01.
        let next = Self.funding + 480, nextMs = Self.t0 + next * Self.minute
        for m in (next - 5)...next {
            books.at(m)
            _ = try await Self.process(books, rules).balanceUSDT()
        }
        books.clock.set(nextMs + 59_800)
        rules.arm(movingTo: nextMs + Self.minute + 300)
        _ = try await Self.process(books, rules).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X"))
        books.at(next + 3)
        _ = try await Self.process(books, rules).balanceUSDT()
        let r = try #require(books.market.funding[Self.symbol]?[nextMs])
        let rate = try #require(Decimal(price: r))
        let open = try books.candle(next).open
        let mark = try #require(Decimal(price: open))
        let charge = -(5 * mark * rate).rounded(scale: 8)
        #expect(charge != 0)
        #expect(try Self.fundings(books) == ["FUNDING_FEE \(charge.plainString) \(nextMs)"])
    }
}
