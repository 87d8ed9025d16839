import Foundation
import GobotCore

/// Public history endpoints for `gobot data download`. They need no API key and go through the
/// same request pipeline as every other call (weight budget, 429 back-off, 418 ban).
extension BinanceClient {
    /// The most klines one request returns.
    public static let klinePage = 1500

    /// Weight of a kline request by `limit`, as Binance counts it.
    static func klineWeight(_ limit: Int) -> Int { limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10 }

    /// Up to `limit` 1m klines with open time in `[startMs, endMs]`, oldest first.
    public func historicalKlines(symbol: String, startMs: Int64, endMs: Int64, limit: Int = klinePage) async throws -> [Candle] {
        try await pagedKlines("/fapi/v1/klines", symbol: symbol, startMs: startMs, endMs: endMs, limit: limit)
    }

    /// Up to `limit` 1m mark-price klines with open time in `[startMs, endMs]` (volume 0: the endpoint has none).
    public func markPriceKlines(symbol: String, startMs: Int64, endMs: Int64, limit: Int = klinePage) async throws -> [Candle] {
        try await pagedKlines("/fapi/v1/markPriceKlines", symbol: symbol, startMs: startMs, endMs: endMs, limit: limit)
    }

    func pagedKlines(_ path: String, symbol: String, startMs: Int64, endMs: Int64, limit: Int) async throws -> [Candle] {
        let params = [("symbol", symbol), ("interval", "1m"), ("startTime", String(startMs)), ("endTime", String(endMs)), ("limit", String(limit))]
        return try BinanceResponses.klines(try await request("GET", path, params: params, weight: Self.klineWeight(limit), signed: false), endpoint: path)
    }

    /// One funding event: its time (a few ms after the 8h mark) and the rate as Binance printed it.
    public struct FundingEvent: Sendable, Equatable {
        public var timeMs: Int64
        public var rate: String
        public init(timeMs: Int64, rate: String) { self.timeMs = timeMs; self.rate = rate }
    }

    /// Up to `limit` (max 1000) funding events with time in `[startMs, endMs]`, oldest first.
    public func fundingHistory(symbol: String, startMs: Int64, endMs: Int64, limit: Int = 1000) async throws -> [FundingEvent] {
        struct Row: Decodable { var fundingTime: Int64; var fundingRate: String }
        let ep = "/fapi/v1/fundingRate"
        let data = try await request("GET", ep, params: [("symbol", symbol), ("startTime", String(startMs)), ("endTime", String(endMs)),
                                                         ("limit", String(limit))], weight: 1, signed: false)
        return try decode([Row].self, data, ep).map {
            guard Double($0.fundingRate) != nil else { throw ExchangeError.badResponse(endpoint: ep, reason: "fundingRate \($0.fundingRate)") }
            return FundingEvent(timeMs: $0.fundingTime, rate: $0.fundingRate)
        }
    }

    /// The raw `GET /fapi/v1/exchangeInfo` body, to keep as a snapshot beside downloaded history.
    public func exchangeInfoSnapshot() async throws -> Data {
        let data = try await request("GET", "/fapi/v1/exchangeInfo", weight: 1, signed: false)
        _ = try ExchangeInfoDecoder.decode(data)  // refuse to keep a body gobot cannot read back
        return data
    }
}
