import Foundation

/// Position size from fractional Kelly, capped by the max position and rounded down to the step.
public enum KellySizer {
    public struct Size: Sendable, Equatable {
        public var quantity: Decimal
        public var notional: Decimal
        public var kellyFraction: Double
    }

    /// Win rate shrunk toward the configured prior while history is short.
    public static func winRate(closedTrades: Int, wins: Int, prior: Double, priorTrades: Int) -> Double {
        (Double(wins) + prior * Double(priorTrades)) / Double(closedTrades + priorTrades)
    }

    /// The full Kelly fraction p - (1 - p) / b; the engine's gate shortcut uses the same function,
    /// so its sign is bit for bit the gate's.
    @inline(__always)
    public static func fullKelly(winRate p: Double, rewardRisk b: Double) -> Double { p - (1 - p) / b }

    public static func size(equityUSD: Decimal, price: Decimal, stopPercent: Decimal, rewardRisk: Decimal, rules: SymbolRules,
                            config: GobotConfig, closedTrades: Int, wins: Int) -> Result<Size, RiskRejection> {
        let r = config.risk
        let p = winRate(closedTrades: closedTrades, wins: wins, prior: r.kellyPriorWinRate, priorTrades: r.kellyPriorTrades)
        let b = rewardRisk.doubleValue
        let fullKelly = fullKelly(winRate: p, rewardRisk: b)
        guard fullKelly > 0 else { return .failure(.kellyNotPositive(winRate: p, rewardRisk: b)) }
        let stake = fullKelly * r.kellyFraction
        // The stake is the fraction of equity put at risk; the stop distance turns it into notional.
        let riskUSD = equityUSD * Decimal(stake)
        var notional = riskUSD / (stopPercent * Decimal.hundredth)
        notional = min(notional, config.trading.maxPositionUSD)
        let qty = rules.roundMarketQuantity(notional / price)
        let finalNotional = qty * price
        if qty < rules.marketMinQty || qty <= 0 || finalNotional < rules.minNotional {
            return .failure(.belowMinimum(symbol: rules.symbol, minNotional: rules.minNotional, minQty: rules.marketMinQty,
                                          cap: config.trading.maxPositionUSD, price: price))
        }
        return .success(Size(quantity: qty, notional: finalNotional, kellyFraction: stake))
    }
}
