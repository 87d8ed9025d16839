import Foundation

/// Whether a symbol can trade at all under the configured position cap, decided before a run so
/// that a backtest names the symbols it can never trade instead of silently shrinking its universe.
public enum SymbolFit {
    /// Why `symbol` can never be entered, or nil when it can. `lowestPrice` is the lowest price the
    /// run will see: the cheaper the contract, the larger the quantity the cap buys.
    public static func reasonNeverTradable(symbol: String, rules: SymbolRules?, lowestPrice: Double, maxPositionUSD: Decimal) -> String? {
        guard let rules else { return "\(symbol): not in exchangeInfo, skipped" }
        if rules.minNotional > maxPositionUSD {
            return "\(symbol): smallest order \(rules.minNotional.plainString) USDT > max_position_usd \(maxPositionUSD.plainString), skipped"
        }
        guard lowestPrice > 0, let price = Decimal(price: lowestPrice) else { return nil }
        let quantity = rules.roundMarketQuantity(maxPositionUSD / price)
        let step = max(rules.marketStepSize, rules.stepSize)
        if quantity <= 0 {
            return "\(symbol): quantity rounds to 0 at step \(step.plainString) (max_position_usd \(maxPositionUSD.plainString) buys "
                + "\((maxPositionUSD / price).rounded(scale: 6).plainString) at the lowest price \(price.plainString)), skipped"
        }
        if quantity < rules.marketMinQty {
            return "\(symbol): at most \(quantity.plainString) at step \(step.plainString) < minimum quantity \(rules.marketMinQty.plainString), skipped"
        }
        if quantity * price < rules.minNotional {
            return "\(symbol): at most \((quantity * price).rounded(scale: 4).plainString) USDT after rounding to step \(step.plainString) "
                + "< smallest order \(rules.minNotional.plainString) USDT, skipped"
        }
        return nil
    }
}
