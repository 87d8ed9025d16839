import Foundation
import GobotCore
import GobotStore
import PaperExchange
import Testing
@testable import GobotSteps

/// Paper funding was charged only while replaying the 1m candle at the mark: a kline missing at
/// 08:00 (a page that broke early, a maintenance gap while funding still settles) lost it.
@Suite struct PaperFundingGapTests {
    static let symbol = PaperQuietMinuteTests.symbol, minute = PaperQuietMinuteTests.minute, t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20

    @Test func aMarkWithoutItsCandleIsChargedOnThePriceAtTheMark() async throws {
        let sample = try PaperQuietMinuteTests.market.get()
        let markMs = Self.t0 + Self.funding * Self.minute
        let series = try #require(sample.series[Self.symbol])
        let market = ReplayMarket(series: [Self.symbol: series.filter { $0.openTimeMs != markMs }], funding: sample.funding)
        let db = try GobotDatabase.inMemory()
        let clock = ManualClock(ms: markMs - 3 * Self.minute + 20_000)
        let ex = PaperExchange(db: db, market: market, rules: [Self.symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                               initialBalance: 100, nowMs: { clock.nowMs() })
        _ = try await ex.placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        clock.set(markMs + 3 * Self.minute)
        _ = try await ex.balanceUSDT()
        // The price at the mark: with no minute starting at it, the last close before it.
        let before = try #require(series.first { $0.openTimeMs == markMs - Self.minute })
        let r = try #require(sample.funding[Self.symbol]?[markMs])
        let rate = try #require(Decimal(price: r)), price = try #require(Decimal(price: before.close))
        let charge = -(5 * price * rate).rounded(scale: 8)
        #expect(charge != 0)
        let income = try await ex.income(startMs: 0, endMs: .max, page: 1).filter { $0.incomeType == "FUNDING_FEE" }
        #expect(income.map(\.income) == [charge])
        #expect(income.map(\.timeMs) == [markMs])
    }
}
