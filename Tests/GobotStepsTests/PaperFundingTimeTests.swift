import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// Binance charges funding to the positions held at the funding time. On sample-data's XRPUSDT
/// candles and funding, the paper exchange settles a mark's funding once the clock reaches it,
/// before any fill of the minute that starts at it: a position opened 15 s after the mark pays
/// nothing, one closed by a market order 20 s after it pays (review6 L7).
@Suite struct PaperFundingTimeTests {
    typealias Books = PaperQuietMinuteTests.Books
    static let symbol = PaperQuietMinuteTests.symbol, minute = PaperQuietMinuteTests.minute, t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20

    static func fundings(_ books: Books) throws -> [String] { try books.snapshot().income.filter { $0.hasPrefix("FUNDING_FEE") } }

    @Test func aPositionOpenedFifteenSecondsAfterTheFundingTimeDoesNotPayIt() async throws {
        let books = try Books()
        let ex = books.process()
        #expect(try #require(books.market.funding[Self.symbol]?[Self.t0 + Self.funding * Self.minute]) != 0)
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
        // It was charged when the minute at the mark was replayed with the position opened in it.
        #expect(try Self.fundings(books).isEmpty)
    }

    @Test func aPositionClosedTwentySecondsAfterTheFundingTimePaysIt() async throws {
        let books = try Books()
        let ex = books.process()
        let rateValue = try #require(books.market.funding[Self.symbol]?[Self.t0 + Self.funding * Self.minute])
        let rate = try #require(Decimal(price: rateValue))
        books.at(Self.funding - 3, second: 20)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        books.at(Self.funding - 1)
        try await books.settle(ex)
        let beforeMark = try books.snapshot()
        books.at(Self.funding, second: 20)
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X"))
        let markOpen = try books.candle(Self.funding).open
        let charge = -(5 * (try #require(Decimal(price: markOpen))) * rate).rounded(scale: 8)
        #expect(charge != 0)
        let closed = try books.snapshot()
        // The funding comes before the close's fill in the books, at the funding time.
        let fundingTime = Self.t0 + Self.funding * Self.minute, closeTime = fundingTime + 20_000
        #expect(closed.income.dropFirst(beforeMark.income.count).first == "FUNDING_FEE \(charge.plainString) \(fundingTime)")
        #expect(closed.trades.last?.hasSuffix(" \(closeTime)") == true)
        // Flat afterwards: the minute at the mark, replayed later, charges nothing more.
        for m in (Self.funding + 1)...(Self.funding + 3) {
            books.at(m)
            try await books.settle(ex)
        }
        #expect(try Self.fundings(books) == ["FUNDING_FEE \(charge.plainString) \(fundingTime)"])
    }
}
