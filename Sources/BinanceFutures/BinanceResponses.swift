import Foundation
import GobotCore

/// Response bodies as Binance sends them: decimals as strings, ids as numbers. Fields gobot does
/// not use are left out, and optional ones are optional, so documented removals do not break it.
enum BinanceResponses {
    struct APIError: Decodable { var code: Int; var msg: String }
    struct ServerTime: Decodable { var serverTime: Int64 }
    struct PremiumIndex: Decodable { var symbol: String; var markPrice: String; var lastFundingRate: String?; var nextFundingTime: Int64? }
    struct Ticker: Decodable { var symbol: String; var lastPrice: String; var quoteVolume: String; var priceChangePercent: String }
    struct Balance: Decodable { var asset: String; var balance: String; var availableBalance: String? }
    struct Position: Decodable {
        var symbol: String
        var positionSide: String?
        var positionAmt: String
        var entryPrice: String
        var markPrice: String?
        var unRealizedProfit: String?
    }
    struct Order: Decodable {
        var symbol: String
        var orderId: Int64
        var clientOrderId: String
        var side: String
        var type: String
        var status: String
        var origQty: String
        var executedQty: String
        var avgPrice: String?
        var reduceOnly: Bool?
        var updateTime: Int64?
    }
    struct Algo: Decodable {
        var algoId: Int64
        var clientAlgoId: String
        var symbol: String
        var side: String
        var orderType: String
        var algoStatus: String
        var triggerPrice: String
        var closePosition: Bool?
        var actualOrderId: String?
        var updateTime: Int64?
    }
    struct Trade: Decodable {
        var id: Int64
        var symbol: String
        var orderId: Int64
        var side: String
        var price: String
        var qty: String
        var realizedPnl: String
        var commission: String
        var commissionAsset: String
        var time: Int64
    }
    struct Income: Decodable { var symbol: String; var incomeType: String; var income: String; var asset: String; var time: Int64; var tranId: Int64 }

    static func decimal(_ s: String?, _ field: String, _ endpoint: String) throws -> Decimal {
        guard let s, let d = Decimal(exchangeString: s) else {
            throw ExchangeError.badResponse(endpoint: endpoint, reason: "\(field) is not a decimal: \(s ?? "missing")")
        }
        return d
    }

    static func side(_ s: String, _ endpoint: String) throws -> OrderSide {
        guard let side = OrderSide(rawValue: s) else { throw ExchangeError.badResponse(endpoint: endpoint, reason: "side \(s)") }
        return side
    }

    static func order(_ o: Order, endpoint: String) throws -> ExchangeOrder {
        ExchangeOrder(symbol: o.symbol, orderId: String(o.orderId), clientOrderId: o.clientOrderId, side: try side(o.side, endpoint),
                      type: o.type, status: o.status, origQty: try decimal(o.origQty, "origQty", endpoint),
                      executedQty: try decimal(o.executedQty, "executedQty", endpoint),
                      avgPrice: Decimal(exchangeString: o.avgPrice ?? "0") ?? 0, reduceOnly: o.reduceOnly ?? false, updateTimeMs: o.updateTime ?? 0)
    }

    static func algo(_ a: Algo, endpoint: String) throws -> AlgoOrder {
        AlgoOrder(algoId: String(a.algoId), clientAlgoId: a.clientAlgoId, symbol: a.symbol, side: try side(a.side, endpoint),
                  orderType: a.orderType, algoStatus: a.algoStatus, triggerPrice: try decimal(a.triggerPrice, "triggerPrice", endpoint),
                  closePosition: a.closePosition ?? false, actualOrderId: a.actualOrderId ?? "", updateTimeMs: a.updateTime ?? 0)
    }

    /// Klines are arrays: [openTime, "open", "high", "low", "close", "volume", closeTime, ...].
    static func klines(_ data: Data, endpoint: String) throws -> [Candle] {
        guard let rows = try? JSONSerialization.jsonObject(with: data) as? [[Any]] else {
            throw ExchangeError.badResponse(endpoint: endpoint, reason: "not an array of kline arrays")
        }
        return try rows.map { row in
            guard row.count >= 6, let t = (row[0] as? NSNumber)?.int64Value,
                  let o = (row[1] as? String).flatMap(Double.init), let h = (row[2] as? String).flatMap(Double.init),
                  let l = (row[3] as? String).flatMap(Double.init), let c = (row[4] as? String).flatMap(Double.init),
                  let v = (row[5] as? String).flatMap(Double.init) else {
                throw ExchangeError.badResponse(endpoint: endpoint, reason: "malformed kline row")
            }
            return Candle(openTimeMs: t, open: o, high: h, low: l, close: c, volume: v)
        }
    }
}
