import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// While a funding rate is not published yet the paper books wait at its mark; the minutes after it
/// are replayed once the rate is there. A stop reached in those minutes must still fill at its own
/// candle's time and price, and the position held at the mark pays the funding once.
@Suite struct PaperHeldMarkStopTests {
    typealias Late = PaperLateFundingTests
    static let symbol = PaperQuietMinuteTests.symbol
    static let minute = PaperQuietMinuteTests.minute
    static let t0 = PaperQuietMinuteTests.t0
    /// 16:00 on 2025-05-21, a funding time of sample-data where a long's stop at the low of the
    /// minute mark+2 is reached first in that minute (the test checks this on the candles).
    static let funding: Int64 = 2400

    /// Stop reached at mark+2 min, rate published at mark+5 min: the fill is at the mark+2 candle's
    /// time and at the slipped trigger, and the FUNDING_FEE is charged once, on the 5 held at the mark.
    @Test func aStopReachedWhileTheRateIsUnpublishedFillsAtItsOwnCandle() async throws {
        let books = try PaperQuietMinuteTests.Books()
        let market = Late.LateMarket(books.market)
        let markMs = Self.t0 + Self.funding * Self.minute
        let rate = try #require(books.market.funding[Self.symbol]?[markMs])
        books.at(Self.funding - 3, second: 20)
        let placedAt = books.clock.nowMs()
        _ = try await Late.process(books, market).placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let stop = try #require(Decimal(price: try books.candle(Self.funding + 2).low))
        _ = try await Late.process(books, market).placeProtectiveOrder(ProtectiveOrderRequest(symbol: Self.symbol, side: .sell, kind: .stopMarket, triggerPrice: stop, clientAlgoId: "gb-1-SL"))
        // The candles reach the stop first at mark+2, without a gap through it: filled at the trigger.
        let hit = try #require(try PaperQuietMinuteTests.firstCrossing(books, isStop: true, trigger: stop, placedMinute: Self.funding - 3, placedAtMs: placedAt,
                                                                       through: Self.funding + 10))
        #expect(hit.minute == Self.funding + 2)
        #expect(hit.price == stop)
        let charge = -(5 * (try #require(Decimal(price: try books.candle(Self.funding).open))) * (try #require(Decimal(price: rate)))).rounded(scale: 8)
        #expect(charge != 0)

        // Not published through mark+4: the books wait at the mark, the stop waits, nothing is charged.
        for m in (Self.funding + 1)...(Self.funding + 4) {
            books.at(m)
            _ = try await Late.process(books, market).balanceUSDT()
            let snapshot = try books.snapshot()
            #expect(snapshot.processedUntilMs == markMs, "minute \(m)")
            #expect(snapshot.trades.count == 1, "minute \(m)")
            #expect(try Late.fundings(books).isEmpty, "minute \(m)")
            #expect(try await Late.process(books, market).queryAlgoOrder(clientAlgoId: "gb-1-SL")?.algoStatus == "NEW", "minute \(m)")
        }

        // Published at mark+5: the held minutes are replayed in order.
        market.publish()
        books.at(Self.funding + 5)
        let ex = Late.process(books, market)
        _ = try await ex.balanceUSDT()
        #expect(try Late.fundings(books) == ["FUNDING_FEE \(charge.plainString) \(markMs)"])
        #expect(try books.snapshot().processedUntilMs == Self.t0 + (Self.funding + 5) * Self.minute)
        let exits = try await ex.userTrades(symbol: Self.symbol, startMs: placedAt + 1, endMs: .max).filter { $0.side == .sell }
        #expect(exits.count == 1)
        let exit = try #require(exits.first)
        #expect(exit.timeMs == Self.t0 + (Self.funding + 2) * Self.minute + 30_000)
        #expect(exit.price == FillRules.slipped(stop, side: .sell, bps: FillRules.defaultSlippageBps, tickSize: TradingHarness.xrp.tickSize))
        #expect(exit.qty == 5)
        let algo = try #require(try await ex.queryAlgoOrder(clientAlgoId: "gb-1-SL"))
        #expect(algo.algoStatus == "FINISHED")
        #expect(algo.updateTimeMs == exit.timeMs)
        #expect(try await ex.positions().first { $0.symbol == Self.symbol }?.positionAmt ?? 0 == 0)

        // Later settles charge nothing more.
        books.at(Self.funding + 30)
        _ = try await Late.process(books, market).balanceUSDT()
        #expect(try Late.fundings(books).count == 1)
        #expect(try books.snapshot().trades.count == 2)
    }
}
