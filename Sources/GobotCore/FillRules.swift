import Foundation

/// How the simulated exchanges (the paper exchange and the in-memory engine) fill orders, in one
/// place so the two cannot drift apart. The rules follow what Binance does with gobot's orders:
///
/// - Market orders (entries, closes) and triggered STOP_MARKET / TAKE_PROFIT_MARKET orders pay
///   slippage: `slippage_bps` of the price, at least one tick, always against the trader, and
///   the price lands on the tick grid.
/// - Protective orders trigger on the mark price (gobot sends `workingType=MARK_PRICE`) when mark
///   klines are known for the minute, else on the last price.
/// - An order only meets prices after it was placed: placed inside a minute, it sees only that
///   minute's close, then the following minutes in full.
public enum FillRules {
    /// A few basis points: about the spread plus impact of a small market order on a liquid
    /// USDⓈ-M perpetual. One tick is the floor whatever the setting.
    public static let defaultSlippageBps: Decimal = 2
    static let basisPoint = Decimal(sign: .plus, exponent: -4, significand: 1)

    /// The price a market order of `side` gets when the market trades at `price`.
    /// `bps` 0 is an explicit "no slippage" (tests and what-if runs); any other setting slips at
    /// least one tick.
    public static func slipped(_ price: Decimal, side: OrderSide, bps: Decimal, tickSize: Decimal) -> Decimal {
        guard bps > 0 else { return price }
        let slip = max(price * bps * basisPoint, tickSize)
        switch side {
        case .buy: return (price + slip).ceiled(toMultipleOf: tickSize)
        case .sell: return max((price - slip).floored(toMultipleOf: tickSize), tickSize)
        }
    }

    /// The market price at which a protective order, placed at `placedAtMs`, is triggered during
    /// the 1m candle `last` (with `mark`, the mark-price candle of the same minute, when known);
    /// nil when it is not triggered. The caller adds slippage.
    ///
    /// A move through the trigger before the minute began (the open already beyond it) fills at
    /// the open of the last price, not at the trigger.
    public static func protectiveFill(isStop: Bool, side: OrderSide, trigger: Decimal, last: Candle, mark: Candle?, placedAtMs: Int64) -> Decimal? {
        protectiveFill(isStop: isStop, side: side, trigger: trigger, triggerValue: trigger.doubleValue, last: last, mark: mark, placedAtMs: placedAtMs)
    }

    /// The same with `trigger.doubleValue` computed once by the caller (the engine checks every
    /// minute of an open position: the conversion was most of that cost).
    @inline(__always)
    public static func protectiveFill(isStop: Bool, side: OrderSide, trigger: Decimal, triggerValue t: Double, last: Candle, mark: Candle?,
                                      placedAtMs: Int64) -> Decimal? {
        // A minute that closed before the order existed cannot trigger it (a paper stop whose rules
        // await crossed a minute after its books were settled is stamped in the next minute, and
        // the replay of the minute before would otherwise check it; review 16, L1).
        if last.openTimeMs + 60_000 <= placedAtMs { return nil }
        let ref = mark ?? last
        // A sell stop and a buy target wait for the price to fall to the trigger; the others for it to rise.
        let falling = isStop == (side == .sell)
        let reached: (Double) -> Bool = { falling ? $0 <= t : $0 >= t }
        let beyond: (Double) -> Bool = { falling ? $0 < t : $0 > t }
        if last.openTimeMs < placedAtMs {
            // Placed inside this minute: its high and low may have come before the order existed.
            guard reached(ref.close) else { return nil }
            return beyond(ref.close) ? Decimal(price: last.close) ?? trigger : trigger
        }
        guard reached(falling ? ref.low : ref.high) else { return nil }
        return beyond(ref.open) ? Decimal(price: last.open) ?? trigger : trigger
    }
}
