import BinanceFutures
import GobotCore
import PaperExchange

/// Public Binance market data as the paper exchange's price source: paper trading on live prices.
public struct LiveMarket: MarketData {
    let client: BinanceClient
    let universe: [String]

    public init(client: BinanceClient, universe: [String]) {
        self.client = client
        self.universe = universe
    }

    public func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        var out: [Candle] = []
        var start = fromMs
        while start + 60_000 <= toMs {
            let page = try await client.klines(symbol: symbol, interval: .m1, startMs: start, limit: 1000).filter { $0.openTimeMs + 60_000 <= toMs }
            guard let last = page.last else { break }
            out += page
            start = last.openTimeMs + 60_000
            if page.count < 1000 { break }
        }
        return out
    }

    /// Mark-price minutes, so paper stops and targets trigger as live ones do (workingType=MARK_PRICE).
    public func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        var out: [Candle] = []
        var start = fromMs
        while start + 60_000 <= toMs {
            let page = try await client.markPriceKlines(symbol: symbol, startMs: start, endMs: toMs - 1, limit: 1000).filter { $0.openTimeMs + 60_000 <= toMs }
            guard let last = page.last else { break }
            out += page
            start = last.openTimeMs + 60_000
            if page.count < 1000 { break }
        }
        return out
    }

    public func markPrice(symbol: String, atMs: Int64) async throws -> Double { try await client.markPrice(symbol: symbol) }

    public func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
        try await client.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit).filter { $0.closeTimeMs(interval) < nowMs }
    }

    public func price(symbol: String, atMs: Int64) async throws -> Double { try await client.markPrice(symbol: symbol) }

    public func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? {
        try await client.fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs)
    }

    /// Binance publishes a funding record some time after its mark (no documented delay): an
    /// empty answer is "not published (yet)", and the paper exchange asks again for a while.
    public func funding(symbol: String, fundingTimeMs: Int64) async throws -> FundingLookup {
        try await fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs).map(FundingLookup.rate) ?? .notPublished
    }

    public func symbols() -> [String] { universe }
}
