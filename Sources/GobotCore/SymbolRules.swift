import Foundation

/// The exchange filters that decide whether an order is acceptable (from exchangeInfo).
public struct SymbolRules: Sendable, Equatable, Codable {
    public var symbol: String
    public var status: String
    public var tickSize: Decimal
    public var stepSize: Decimal
    public var minQty: Decimal
    public var marketStepSize: Decimal
    public var marketMinQty: Decimal
    public var marketMaxQty: Decimal
    public var minNotional: Decimal

    public init(symbol: String, status: String = "TRADING", tickSize: Decimal, stepSize: Decimal, minQty: Decimal,
                marketStepSize: Decimal? = nil, marketMinQty: Decimal? = nil, marketMaxQty: Decimal = 1_000_000_000, minNotional: Decimal) {
        self.symbol = symbol
        self.status = status
        self.tickSize = tickSize
        self.stepSize = stepSize
        self.minQty = minQty
        self.marketStepSize = marketStepSize ?? stepSize
        self.marketMinQty = marketMinQty ?? minQty
        self.marketMaxQty = marketMaxQty
        self.minNotional = minNotional
    }

    /// A price on the tick grid.
    public func roundPrice(_ p: Decimal) -> Decimal { p.roundedToNearest(multipleOf: tickSize) }

    /// A MARKET quantity rounded down to the step (never more than asked for).
    public func roundMarketQuantity(_ q: Decimal) -> Decimal {
        q.floored(toMultipleOf: max(marketStepSize, stepSize))
    }
}
