import Foundation

public enum OrderSide: String, Sendable, Equatable, Codable {
    case buy = "BUY", sell = "SELL"
    public var opposite: OrderSide { self == .buy ? .sell : .buy }
    /// Whether an order on this side reduces a position of signed size `amount` (a sell reduces a
    /// long, a buy a short). Written out, the same test took the type checker seconds per use.
    public func reduces(_ amount: Decimal) -> Bool { self == .sell ? amount > Decimal.zero : amount < Decimal.zero }
}

public enum PositionSide: String, Sendable, Equatable, Codable {
    case long, short
    public var entrySide: OrderSide { self == .long ? .buy : .sell }
    public var exitSide: OrderSide { self == .long ? .sell : .buy }
}

/// A regular order as the exchange reports it.
public struct ExchangeOrder: Sendable, Equatable {
    public var symbol: String
    public var orderId: String
    public var clientOrderId: String
    public var side: OrderSide
    public var type: String
    public var status: String
    public var origQty: Decimal
    public var executedQty: Decimal
    public var avgPrice: Decimal
    public var reduceOnly: Bool
    public var updateTimeMs: Int64

    public init(symbol: String, orderId: String, clientOrderId: String, side: OrderSide, type: String, status: String,
                origQty: Decimal, executedQty: Decimal, avgPrice: Decimal, reduceOnly: Bool, updateTimeMs: Int64) {
        self.symbol = symbol
        self.orderId = orderId
        self.clientOrderId = clientOrderId
        self.side = side
        self.type = type
        self.status = status
        self.origQty = origQty
        self.executedQty = executedQty
        self.avgPrice = avgPrice
        self.reduceOnly = reduceOnly
        self.updateTimeMs = updateTimeMs
    }

    public var isFilled: Bool { status == "FILLED" }
    public var isFinal: Bool { ["FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"].contains(status) }
}

/// A conditional (stop / take-profit) order of the Algo Order API.
public struct AlgoOrder: Sendable, Equatable {
    public var algoId: String
    public var clientAlgoId: String
    public var symbol: String
    public var side: OrderSide
    public var orderType: String
    public var algoStatus: String
    public var triggerPrice: Decimal
    public var closePosition: Bool
    public var actualOrderId: String
    public var updateTimeMs: Int64

    public init(algoId: String, clientAlgoId: String, symbol: String, side: OrderSide, orderType: String, algoStatus: String,
                triggerPrice: Decimal, closePosition: Bool, actualOrderId: String = "", updateTimeMs: Int64) {
        self.algoId = algoId
        self.clientAlgoId = clientAlgoId
        self.symbol = symbol
        self.side = side
        self.orderType = orderType
        self.algoStatus = algoStatus
        self.triggerPrice = triggerPrice
        self.closePosition = closePosition
        self.actualOrderId = actualOrderId
        self.updateTimeMs = updateTimeMs
    }

    /// Still waiting to trigger.
    public var isOpen: Bool { algoStatus == "NEW" || algoStatus == "TRIGGERING" }
}

/// A position on the exchange (one-way mode: signed amount).
public struct ExchangePosition: Sendable, Equatable {
    public var symbol: String
    public var positionAmt: Decimal
    public var entryPrice: Decimal
    public var markPrice: Decimal
    public var unrealizedProfit: Decimal

    public init(symbol: String, positionAmt: Decimal, entryPrice: Decimal, markPrice: Decimal, unrealizedProfit: Decimal) {
        self.symbol = symbol
        self.positionAmt = positionAmt
        self.entryPrice = entryPrice
        self.markPrice = markPrice
        self.unrealizedProfit = unrealizedProfit
    }

    public var side: PositionSide? { positionAmt > 0 ? .long : positionAmt < 0 ? .short : nil }
}

/// One fill.
public struct UserTrade: Sendable, Equatable {
    public var id: String
    public var symbol: String
    public var orderId: String
    public var side: OrderSide
    public var price: Decimal
    public var qty: Decimal
    public var realizedPnl: Decimal
    public var commission: Decimal
    /// USDT, or BNB (or another asset) when the account pays fees with it: never assume USDT.
    public var commissionAsset: String
    public var timeMs: Int64

    public init(id: String, symbol: String, orderId: String, side: OrderSide, price: Decimal, qty: Decimal,
                realizedPnl: Decimal, commission: Decimal, commissionAsset: String, timeMs: Int64) {
        self.commissionAsset = commissionAsset
        self.id = id
        self.symbol = symbol
        self.orderId = orderId
        self.side = side
        self.price = price
        self.qty = qty
        self.realizedPnl = realizedPnl
        self.commission = commission
        self.timeMs = timeMs
    }
}

/// One entry of the income history (realized P&L, commission, funding...).
public struct IncomeRecord: Sendable, Equatable {
    /// Records a page of `/fapi/v1/income` holds (its `limit` maximum); a shorter page is the last.
    public static let pageSize = 1000

    /// The ledger's reference for this record: `tranId` is unique per income type only.
    public var ledgerRef: String { "\(incomeType):\(tranId)" }

    public var tranId: String
    public var symbol: String
    public var incomeType: String
    public var income: Decimal
    /// The asset `income` is in: a COMMISSION paid in BNB is in BNB, not USDT.
    public var asset: String
    public var timeMs: Int64
    /// The fill a COMMISSION or REALIZED_PNL record comes from (``UserTrade/id``), nil for an
    /// income of no trade (funding, transfers): a fee is matched to its fill by it, as the time
    /// of the record is not documented to be the fill's.
    public var tradeId: String?

    public init(tranId: String, symbol: String, incomeType: String, income: Decimal, asset: String, timeMs: Int64, tradeId: String? = nil) {
        self.asset = asset
        self.tradeId = tradeId
        self.tranId = tranId
        self.symbol = symbol
        self.incomeType = incomeType
        self.income = income
        self.timeMs = timeMs
    }
}

/// 24h statistics used to pick the universe.
public struct Ticker24h: Sendable, Equatable {
    public var symbol: String
    public var lastPrice: Decimal
    public var quoteVolume: Decimal
    public var priceChangePercent: Decimal

    public init(symbol: String, lastPrice: Decimal, quoteVolume: Decimal, priceChangePercent: Decimal) {
        self.symbol = symbol
        self.lastPrice = lastPrice
        self.quoteVolume = quoteVolume
        self.priceChangePercent = priceChangePercent
    }
}

public struct MarketOrderRequest: Sendable, Equatable {
    public var symbol: String
    public var side: OrderSide
    public var quantity: Decimal
    public var reduceOnly: Bool
    public var clientOrderId: String

    public init(symbol: String, side: OrderSide, quantity: Decimal, reduceOnly: Bool, clientOrderId: String) {
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.reduceOnly = reduceOnly
        self.clientOrderId = clientOrderId
    }
}

/// STOP_MARKET or TAKE_PROFIT_MARKET with closePosition and MARK_PRICE, the protective pair.
public struct ProtectiveOrderRequest: Sendable, Equatable {
    public enum Kind: String, Sendable { case stopMarket = "STOP_MARKET", takeProfitMarket = "TAKE_PROFIT_MARKET" }
    public var symbol: String
    public var side: OrderSide
    public var kind: Kind
    public var triggerPrice: Decimal
    public var clientAlgoId: String

    public init(symbol: String, side: OrderSide, kind: Kind, triggerPrice: Decimal, clientAlgoId: String) {
        self.symbol = symbol
        self.side = side
        self.kind = kind
        self.triggerPrice = triggerPrice
        self.clientAlgoId = clientAlgoId
    }
}
