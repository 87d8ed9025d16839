import GobotCore

/// Prices the paper exchange trades against: replayed history in backtests, public market
/// data for paper trading on live prices.
public protocol MarketData: Sendable {
    /// Closed 1m candles with open time in `[fromMs, toMs)`, oldest first.
    func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle]
    /// Klines closed by `nowMs`, starting at `startMs` (or the latest `limit` when nil).
    func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle]
    /// The price a market order placed at `atMs` would get: the next trade, i.e. the open of
    /// the minute that starts at or after `atMs`, else the last close.
    func price(symbol: String, atMs: Int64) async throws -> Double
    /// Funding rate of the event at `fundingTimeMs` (8h marks), if known.
    func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double?
    /// The funding event at `fundingTimeMs` as this market knows it now. Replayed history knows
    /// every event (nil from `fundingRate`: no funding at this mark); the live exchange publishes
    /// each record some time after its mark, and an answer without one is ``FundingLookup/notPublished``.
    func funding(symbol: String, fundingTimeMs: Int64) async throws -> FundingLookup
    func symbols() -> [String]
    /// Closed 1m mark-price candles with open time in `[fromMs, toMs)`, oldest first.
    func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle]
    /// The mark price at `atMs` (the open of the mark minute starting at or after it).
    func markPrice(symbol: String, atMs: Int64) async throws -> Double
}

/// What a market says of one funding event.
public enum FundingLookup: Sendable, Equatable {
    /// Paid at this rate.
    case rate(Double)
    /// There is no funding at this mark.
    case none
    /// The exchange has no record of it (yet): ask again later, for a bounded time.
    case notPublished
}

extension MarketData {
    /// Replayed history: nil from `fundingRate` is no funding at this mark, never "not yet".
    public func funding(symbol: String, fundingTimeMs: Int64) async throws -> FundingLookup {
        try await fundingRate(symbol: symbol, fundingTimeMs: fundingTimeMs).map(FundingLookup.rate) ?? FundingLookup.none
    }
    /// Closed 1m mark-price candles with open time in `[fromMs, toMs)`; empty when unknown, and
    /// then protective orders trigger on the last price.
    public func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] { [] }
    /// The mark price at `atMs`; the last price when no mark price is known.
    public func markPrice(symbol: String, atMs: Int64) async throws -> Double { try await price(symbol: symbol, atMs: atMs) }
}
