import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import PaperExchange
import Testing
@testable import GobotSteps

/// `LiveMarket`, the market paper trading on live prices reads (`StepServices`), over the loopback
/// FakeBinance: Binance answers `/fapi/v1/fundingRate` with `[]` until it has published the record
/// of a mark, and that empty answer must reach the paper exchange as "not published yet", never as
/// "no funding at this mark" (the protocol's default), which would skip the payment for good.
@Suite(.serialized) struct LiveMarketFundingTests {
    static let symbol = PaperQuietMinuteTests.symbol
    static let minute = PaperQuietMinuteTests.minute
    static let t0 = PaperQuietMinuteTests.t0
    static let funding: Int64 = 480  // 08:00 on 2025-05-20, a funding time of sample-data
    static let markMs = t0 + funding * minute

    /// The record of the 08:00 mark as sample-data holds it (stamped a few ms after the mark).
    static func record() throws -> (timeMs: Int64, rate: String) {
        try #require(HistoryDownloadTests.funding.first { $0.timeMs >= markMs && $0.timeMs < markMs + minute })
    }

    struct Live {
        let fake: FakeBinance
        let clock: ManualClock
        let market: LiveMarket
        let db: GobotDatabase

        /// A new cron process: a paper exchange over the same books and the live market.
        func process() -> PaperExchange {
            let clock = self.clock
            return PaperExchange(db: db, market: market, rules: [LiveMarketFundingTests.symbol: TradingHarness.xrp], feeRate: Decimal(string: "0.0005")!,
                                 initialBalance: 100, nowMs: { clock.nowMs() })
        }

        /// `second` seconds into minute `m` of sample-data.
        func at(_ m: Int64, second: Int64 = 5) { clock.set(LiveMarketFundingTests.t0 + m * LiveMarketFundingTests.minute + second * 1000) }

        /// The fake publishes the funding record of the mark.
        func publish() async throws {
            let candles = Array(HistoryDownloadTests.candles.prefix(Int(LiveMarketFundingTests.funding) + 60))
            await fake.setHistory(LiveMarketFundingTests.symbol, klines: candles, marks: candles, funding: [try LiveMarketFundingTests.record()])
        }

        func fundings() throws -> [String] {
            try db.read { db in
                try String.fetchAll(db, sql: "SELECT type || ' ' || income || ' ' || time_ms FROM paper_income WHERE type = 'FUNDING_FEE' ORDER BY id")
            }
        }
    }

    /// The fake serves sample-data's candles (on both kline endpoints) up to an hour past the mark,
    /// and no funding record yet: its funding endpoint answers `[]`.
    static func live() async throws -> Live {
        let fake = try FakeBinance()
        let url = try await fake.start()
        let candles = Array(HistoryDownloadTests.candles.prefix(Int(funding) + 60))
        await fake.setHistory(symbol, klines: candles, marks: candles, funding: [])
        let clock = ManualClock(ms: markMs)
        let client = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: 60), credentials: nil,
                                   state: MemoryExchangeState(), weightBudget: 1200, nowMs: { clock.nowMs() }, sleep: { _ in })
        return Live(fake: fake, clock: clock, market: LiveMarket(client: client, universe: [symbol]), db: try GobotDatabase.inMemory())
    }

    /// An empty answer is "not published"; once the record is there it is its rate.
    @Test func anEmptyAnswerIsNotPublishedThenTheRecordIsTheRate() async throws {
        let live = try await Self.live()
        defer { Task { await live.fake.stop() } }
        let before = try await live.market.funding(symbol: Self.symbol, fundingTimeMs: Self.markMs)
        #expect(before == .notPublished)
        #expect(await live.fake.count(path: "/fapi/v1/fundingRate") == 1)
        try await live.publish()
        let rate = try #require(Double(try Self.record().rate))
        #expect(rate != 0)
        let after = try await live.market.funding(symbol: Self.symbol, fundingTimeMs: Self.markMs)
        #expect(after == .rate(rate))
        #expect(await live.fake.count(path: "/fapi/v1/fundingRate") == 2)
    }

    /// Paper trading on live prices: a long held across the mark while Binance answers `[]` is not
    /// charged and the books wait at the mark; once the record is published it pays the rate
    /// exactly once, on the mark minute's mark price.
    @Test func paperOnLivePricesChargesALatePublishedRateOnce() async throws {
        let live = try await Self.live()
        defer { Task { await live.fake.stop() } }
        let entry = HistoryDownloadTests.candles[Int(Self.funding) - 3]
        await live.fake.setMark(Self.symbol, try #require(Decimal(price: entry.close)))
        live.at(Self.funding - 3, second: 20)
        _ = try await live.process().placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        let markCandle = HistoryDownloadTests.candles[Int(Self.funding)]
        #expect(markCandle.openTimeMs == Self.markMs)
        let rate = try #require(Decimal(string: try Self.record().rate))
        let charge = -(5 * (try #require(Decimal(price: markCandle.open))) * rate).rounded(scale: 8)
        #expect(charge != 0)
        // Not published: nothing charged, the books stop at the mark.
        for m in (Self.funding + 1)...(Self.funding + 2) {
            live.at(m)
            _ = try await live.process().balanceUSDT()
            #expect(try live.fundings().isEmpty, "minute \(m)")
        }
        let processed = try live.db.read { db in try Int64.fetchOne(db, sql: "SELECT processed_until_ms FROM paper_account WHERE id = 1") }
        #expect(processed == Self.markMs)
        #expect(await live.fake.count(path: "/fapi/v1/fundingRate") == 2)
        // Published: charged once at the mark; later settles and the close do not charge it again.
        try await live.publish()
        live.at(Self.funding + 3)
        _ = try await live.process().balanceUSDT()
        let charged = try live.fundings()
        #expect(charged == ["FUNDING_FEE \(charge.plainString) \(Self.markMs)"])
        live.at(Self.funding + 20)
        _ = try await live.process().placeMarketOrder(MarketOrderRequest(symbol: Self.symbol, side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "gb-1-X"))
        live.at(Self.funding + 30)
        _ = try await live.process().balanceUSDT()
        let final = try live.fundings()
        #expect(final == ["FUNDING_FEE \(charge.plainString) \(Self.markMs)"])
    }
}
