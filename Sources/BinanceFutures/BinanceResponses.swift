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
    /// An algo order as any of its published shapes: Binance has renamed, retyped and dropped
    /// these fields several times, and orders placed by hand (trailing stops) carry odd ones such
    /// as an empty `triggerPrice`. Every field is read on its own and a misfit reads as absent;
    /// what is missing is decided by ``algo(_:endpoint:placed:)``.
    struct Algo: Decodable {
        var algoId: String?
        var clientAlgoId: String?
        var symbol: String?
        var side: String?
        var orderType: String?
        var algoStatus: String?
        var triggerPrice: String?
        var closePosition: Bool?
        var actualOrderId: String?
        var updateTime: Int64?

        enum Key: String, CodingKey {
            case algoId, clientAlgoId, symbol, side, orderType, algoStatus, triggerPrice, closePosition, actualOrderId, updateTime
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            func text(_ k: Key) -> String? {
                if let s = try? c.decodeIfPresent(String.self, forKey: k) { return s.isEmpty ? nil : s }
                if let n = try? c.decodeIfPresent(Int64.self, forKey: k) { return String(n) }
                return nil
            }
            algoId = text(.algoId)
            clientAlgoId = text(.clientAlgoId)
            symbol = text(.symbol)
            side = text(.side)
            orderType = text(.orderType)
            algoStatus = text(.algoStatus)
            triggerPrice = text(.triggerPrice)
            closePosition = (try? c.decodeIfPresent(Bool.self, forKey: .closePosition)) ?? text(.closePosition).map { $0 == "true" }
            actualOrderId = text(.actualOrderId)
            updateTime = (try? c.decodeIfPresent(Int64.self, forKey: .updateTime)) ?? text(.updateTime).flatMap { Int64($0) }
        }
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
    /// `tradeId` is a string, "" for an income of no trade (funding, transfers).
    struct Income: Decodable { var symbol: String; var incomeType: String; var income: String; var asset: String; var time: Int64; var tranId: Int64; var tradeId: RawTradeId? }

    /// A `tradeId` as sent: Binance documents a string; an integer number is read too, and any
    /// other value is kept for ``tradeId(_:incomeType:tranId:_:)`` to judge, so that an odd value
    /// on a record type gobot does not match by trade id (a transfer, a rebate) cannot make the
    /// whole page undecodable and stop the income booking for good (review 15, M1).
    enum RawTradeId: Decodable, Equatable {
        case text(String), number(Int64), other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .text("") }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else if let n = try? c.decode(Int64.self) { self = .number(n) }
            else { self = .other }
        }
    }

    static func income(_ i: Income, _ endpoint: String) throws -> IncomeRecord {
        IncomeRecord(tranId: String(i.tranId), symbol: i.symbol, incomeType: i.incomeType, income: try decimal(i.income, "income", endpoint),
                     asset: i.asset, timeMs: i.time, tradeId: try tradeId(i.tradeId, incomeType: i.incomeType, tranId: i.tranId, endpoint))
    }

    /// An income record's trade id: nil when absent or "" (no trade); otherwise a trade id as
    /// `/fapi/v1/userTrades` gives it (an integer, canonical). On a COMMISSION record, the one
    /// reconcile matches to a fill by it, anything else is a bad answer: read as "no trade", it
    /// would leave a fee unmatched to its fill. On other records it is only kept, so an odd value
    /// reads as none.
    static func tradeId(_ raw: RawTradeId?, incomeType: String, tranId: Int64, _ endpoint: String) throws -> String? {
        let id: Int64?, shown: String
        switch raw {
        case nil, .text(""): return nil
        case .text(let s): id = Int64(s).flatMap { String($0) == s ? $0 : nil }; shown = "'\(s)'"
        case .number(let n): id = n; shown = String(n)
        case .other: id = nil; shown = "(not a string or an integer)"
        }
        if let id, id >= 0 { return String(id) }
        guard incomeType == "COMMISSION" else { return nil }
        throw ExchangeError.badResponse(endpoint: endpoint, reason: "tradeId \(shown) of income record tranId \(tranId) is not a trade id")
    }

    static func decimal(_ s: String?, _ field: String, _ endpoint: String) throws -> Decimal {
        guard let s, let d = Decimal(exchangeString: s) else {
            throw ExchangeError.badResponse(endpoint: endpoint, reason: "\(field) is not a decimal: \(s ?? "missing")")
        }
        return d
    }

    /// The rate of the one funding record asked for in `[fromMs, toMs]` (`/fapi/v1/fundingRate`,
    /// limit 1), nil when the answer holds none.
    static func fundingRate(_ data: Data, symbol: String, fromMs: Int64, toMs: Int64) throws -> Double? {
        struct Row: Decodable { var fundingTime: Int64; var fundingRate: String }
        let ep = "/fapi/v1/fundingRate"
        let rows: [Row]
        do { rows = try JSONDecoder().decode([Row].self, from: data) } catch {
            throw ExchangeError.badResponse(endpoint: ep, reason: BinanceClient.describe(error))
        }
        guard let row = rows.first else { return nil }
        guard (fromMs...toMs).contains(row.fundingTime) else {
            throw ExchangeError.badResponse(endpoint: ep, reason: "asked for the funding of \(symbol) in \(fromMs)...\(toMs) ms, the answer is at \(row.fundingTime) ms")
        }
        guard let rate = Double(row.fundingRate), rate.isFinite else {
            throw ExchangeError.badResponse(endpoint: ep, reason: "fundingRate '\(row.fundingRate)' of \(symbol) at \(row.fundingTime) ms is not a number")
        }
        return rate
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

    /// An algo order from its body. `placed` is the request a 2xx answered: the exchange accepted
    /// exactly that, so a field missing from the answer is taken from it and never turns a placed
    /// stop into a failure. Without it (queries, listings) the order must carry its own fields.
    static func algo(_ a: Algo, endpoint: String, placed: ProtectiveOrderRequest? = nil) throws -> AlgoOrder {
        func missing(_ field: String) -> ExchangeError {
            .badResponse(endpoint: endpoint, reason: "algo order \(a.clientAlgoId ?? a.algoId ?? "?") has no usable \(field)")
        }
        // An answer to a placement must at least name the order it is about.
        if let placed, a.algoId == nil, a.clientAlgoId == nil { throw missing("algoId or clientAlgoId") }
        if let placed, let echoed = a.clientAlgoId, echoed != placed.clientAlgoId {
            throw ExchangeError.badResponse(endpoint: endpoint, reason: "answer is about \(echoed), not \(placed.clientAlgoId)")
        }
        guard let clientAlgoId = a.clientAlgoId ?? placed?.clientAlgoId else { throw missing("clientAlgoId") }
        guard let symbol = a.symbol ?? placed?.symbol else { throw missing("symbol") }
        let side: OrderSide
        if let s = a.side { side = try self.side(s, endpoint) } else if let placed { side = placed.side } else { throw missing("side") }
        guard let orderType = a.orderType ?? placed?.kind.rawValue else { throw missing("orderType") }
        // A 2xx to a placement means the order was accepted and is waiting for its trigger.
        guard let status = a.algoStatus ?? (placed == nil ? nil : "NEW") else { throw missing("algoStatus") }
        let trigger: Decimal
        if let t = a.triggerPrice.flatMap({ Decimal(exchangeString: $0) }) { trigger = t } else if let placed { trigger = placed.triggerPrice } else { throw missing("triggerPrice") }
        return AlgoOrder(algoId: a.algoId ?? "", clientAlgoId: clientAlgoId, symbol: symbol, side: side, orderType: orderType, algoStatus: status,
                         triggerPrice: trigger, closePosition: a.closePosition ?? (placed != nil), actualOrderId: a.actualOrderId ?? "",
                         updateTimeMs: a.updateTime ?? 0)
    }

    /// A listing of algo orders. One that gobot did not place and that does not read as a
    /// complete order (a manual trailing stop with an empty trigger price) is left out rather than
    /// failing the whole listing; one of gobot's own that does not read fails loudly.
    static func algos(_ list: [Algo], endpoint: String) throws -> [AlgoOrder] {
        try list.compactMap { a in
            do { return try algo(a, endpoint: endpoint) } catch {
                if let id = a.clientAlgoId, ClientOrderId.isGobots(id) { throw error }
                return nil
            }
        }
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
