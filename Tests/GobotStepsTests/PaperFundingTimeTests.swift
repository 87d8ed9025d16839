import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// The documented known limit of paper funding (RELIABILITY, "Paper funding around an 8h mark"),
/// pinned so a change to it is a red test, not a surprise. Binance charges the position held at
/// the funding time; the paper exchange charges funding when it replays the minute that starts
/// at the mark, on the position then. On sample-data's XRPUSDT candles and funding, a position
/// opened 15 s after the mark pays, and one closed by a market order 20 s after it does not: the
/// reverse of Binance. Settling at the mark itself (review 6, L7) was reverted (review 8, H1).
@Suite struct PaperFundingTimeTests {
    typealias Books = PaperQuietMinuteTests.Books
    static let symbol = PaperQuietMinuteTests.symbol, minute = PaperQuietMinuteTests.minute, t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20

    static func fundings(_ books: Books) throws -> [String] { try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") } }

    static func charge(_ books: Books) throws -> Decimal {
        let rateValue = try #require(books.market.funding[Self.symbol]?[Self.t0 + Self.funding * Self.minute])
        let rate = try #require(Decimal(price: rateValue))
        let markOpen = try books.candle(Self.funding).open
        let mark = try #require(Decimal(price: markOpen))
        return -(5 * mark * rate).rounded(scale: 8)
    }

    @Test func knownLimitAPositionOpenedFifteenSecondsAfterTheFundingTimePaysIt() async throws {
        let books = try Books()
        let ex = books.process()
        let charge = try Self.charge(books)
        #expect(charge != 0)
        for m in (Self.funding - 3)...(Self.funding - 1) {
            books.at(m)
            try await books.settle(ex)
        }
        books.at(Self.funding, second: 15)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        for m in (Self.funding + 1)...(Self.funding + 3) {
            books.at(m)
            try await books.settle(ex)
        }
        // Charged when the minute at the mark was replayed with the position opened in it.
        #expect(try Self.fundings(books) == ["FUNDING_FEE \(charge.plainString) \(Self.t0 + Self.funding * Self.minute)"])
    }

    @Test func knownLimitAPositionClosedTwentySecondsAfterTheFundingTimeDoesNotPayIt() async throws {
        let books = try Books()
        let ex = books.process()
        #expect(try Self.charge(books) != 0)
        books.at(Self.funding - 3, second: 20)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        books.at(Self.funding - 1)
        try await books.settle(ex)
        books.at(Self.funding, second: 20)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X"))
        let fundingTime = Self.t0 + Self.funding * Self.minute
        #expect(try books.snapshot().trades.last?.hasSuffix(" \(fundingTime + 20_000)") == true)
        // Held across the mark, but flat when the minute at the mark is replayed: nothing charged.
        for m in (Self.funding + 1)...(Self.funding + 3) {
            books.at(m)
            try await books.settle(ex)
        }
        #expect(try Self.fundings(books).isEmpty)
    }
}
