import Foundation

/// Stop and target prices computed from the configured percentages, never taken from an analyst.
public struct ProtectivePrices: Sendable, Equatable {
    public var stop: Decimal
    public var target: Decimal
    /// (target distance) / (stop distance) after rounding to the tick grid.
    public var rewardRisk: Decimal

    public static func compute(side: PositionSide, entry: Decimal, stopPercent: Decimal, targetPercent: Decimal, tickSize: Decimal) -> ProtectivePrices {
        let s = stopPercent * Decimal.hundredth, t = targetPercent * Decimal.hundredth
        let rawStop = side == .long ? entry * (1 - s) : entry * (1 + s)
        let rawTarget = side == .long ? entry * (1 + t) : entry * (1 - t)
        // Rounded onto the tick grid so that reward:risk never falls below the configured ratio:
        // the stop moves toward the entry (less risk), the target away from it (more reward).
        let stop = side == .long ? rawStop.ceiled(toMultipleOf: tickSize) : rawStop.floored(toMultipleOf: tickSize)
        let target = side == .long ? rawTarget.ceiled(toMultipleOf: tickSize) : rawTarget.floored(toMultipleOf: tickSize)
        let risk = abs((entry - stop).doubleValue)
        let reward = abs((target - entry).doubleValue)
        let rr = risk > 0 ? Decimal(reward / risk).rounded(scale: 4) : 0
        return ProtectivePrices(stop: stop, target: target, rewardRisk: rr)
    }
}
