import Foundation
import GobotCore

/// Decodes `GET /fapi/v1/exchangeInfo` into per-symbol rules, from the filters (tickSize,
/// stepSize, MIN_NOTIONAL), never from the `*Precision` fields.
public enum ExchangeInfoDecoder {
    struct Body: Decodable {
        struct SymbolInfo: Decodable {
            var symbol: String
            var status: String
            var contractType: String?
            var quoteAsset: String?
            var filters: [Filter]
        }
        struct Filter: Decodable {
            var filterType: String
            var tickSize: String?
            var stepSize: String?
            var minQty: String?
            var maxQty: String?
            var notional: String?
        }
        struct RateLimit: Decodable {
            var rateLimitType: String
            var interval: String
            var intervalNum: Int
            var limit: Int
        }
        var symbols: [SymbolInfo]
        var rateLimits: [RateLimit]?
    }

    public struct Info: Sendable {
        public var rules: [String: SymbolRules]
        public var perpetualUSDT: Set<String>
        public var requestWeightPerMinute: Int?
    }

    public static func decode(_ data: Data) throws -> Info {
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch {
            throw ExchangeError.badResponse(endpoint: "/fapi/v1/exchangeInfo", reason: String(describing: error).prefix(200).description)
        }
        var rules: [String: SymbolRules] = [:]
        var perps = Set<String>()
        for s in body.symbols {
            let f = Dictionary(s.filters.map { ($0.filterType, $0) }, uniquingKeysWith: { a, _ in a })
            guard let tick = f["PRICE_FILTER"]?.tickSize.flatMap(Decimal.init(exchangeString:)),
                  let step = f["LOT_SIZE"]?.stepSize.flatMap(Decimal.init(exchangeString:)),
                  let minQty = f["LOT_SIZE"]?.minQty.flatMap(Decimal.init(exchangeString:)) else { continue }
            let m = f["MARKET_LOT_SIZE"]
            rules[s.symbol] = SymbolRules(
                symbol: s.symbol, status: s.status, tickSize: tick, stepSize: step, minQty: minQty,
                marketStepSize: m?.stepSize.flatMap(Decimal.init(exchangeString:)),
                marketMinQty: m?.minQty.flatMap(Decimal.init(exchangeString:)),
                marketMaxQty: m?.maxQty.flatMap(Decimal.init(exchangeString:)) ?? 1_000_000_000,
                minNotional: f["MIN_NOTIONAL"]?.notional.flatMap(Decimal.init(exchangeString:)) ?? 5)
            if s.contractType == "PERPETUAL" && s.quoteAsset == "USDT" { perps.insert(s.symbol) }
        }
        let weight = body.rateLimits?.first { $0.rateLimitType == "REQUEST_WEIGHT" && $0.interval == "MINUTE" }?.limit
        return Info(rules: rules, perpetualUSDT: perps, requestWeightPerMinute: weight)
    }
}
