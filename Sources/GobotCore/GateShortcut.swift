import Foundation

/// The risk gate's rejection where the in-memory engine can prove it without the gate's Decimal
/// work; anywhere near a boundary it answers nil and the engine calls ``RiskGate/evaluate``.
///
/// Why it exists: once a few trades have lost, the shrunk win rate can sit exactly at the
/// break-even of the configured reward:risk (2 wins in 13 trades with the default prior gives
/// p = 1/3 at 2:1). The Kelly stake is then zero or a hair above it, depending on the reward:risk
/// that tick rounding gives at each price, and the gate answered "kelly" or "below_min_notional"
/// every cycle for the rest of a year: two thirds of the engine's time went into those Decimal
/// divisions.
///
/// What it proves, in the gate's own order (the engine has already skipped halted, breaker,
/// position, open-slot and cooldown cases, and only actionable signals get here):
/// 1. the symbol trades, the reward:risk meets the minimum, the day's trade count and the day's
///    and week's P&L pass (any doubt: nil, the gate decides);
/// 2. the reward:risk is computed exactly: the price is the decimal it prints as (m / 10^d), the
///    tick a power of ten, the percentages short decimals, so stop and target on the tick grid
///    are integers; the ratio is rounded to 4 decimals as the gate does, unless it lies within
///    1e-9 of a rounding boundary (nil). Its `Double` is the gate's own, taken from the first
///    real ``ProtectivePrices/compute`` that produced that rounded ratio (which also checks the
///    integer arithmetic against it);
/// 3. the full Kelly stake is ``KellySizer/fullKelly(winRate:rewardRisk:)`` of the same win rate
///    and ratio, bit for bit the gate's: not positive is "kelly";
/// 4. otherwise the largest quantity the gate could size, bounded in `Double` with relative
///    margins of 1e-9 at every step, is still below the minimum quantity or notional:
///    "below_min_notional". A size that might pass: nil.
struct GateShortcut {
    /// stopLossPercent / 100 = stopNumerator / 10^fractionScale, the same for the take-profit.
    let stopNumerator: Int, targetNumerator: Int, fractionScale: Int
    let kellyFraction: Double, stopFraction: Double, maxPosition: Double
    let prior: Double, priorTrades: Int
    let stopPercent: Decimal, targetPercent: Decimal, minRewardRisk: Decimal
    let maxTradesPerDay: Int
    /// Per symbol index: the tick's decimals (nil when the tick is not a power of ten) and the
    /// rules' figures as `Double`.
    let tickScale: [Int?]
    let qtyStep: [Double], minQty: [Double], minNotional: [Double]
    /// The gate's reward:risk `Double` and whether it meets the minimum, by ratio × 10^4.
    var rewardRisk: [Int: (value: Double, meetsMinimum: Bool)] = [:]
    /// How many rejections were answered here (the rest went to the gate).
    var answered = 0

    static let powers: [Int] = (0...18).map { (0..<$0).reduce(1) { r, _ in r * 10 } }

    init?(config: GobotConfig, rules: [SymbolRules?]) {
        let t = config.trading, r = config.risk
        // stopLossPercent as an integer over 10^j, then /100.
        func scaled(_ x: Decimal) -> (Int, Int)? {
            for j in 0...8 {
                let v = x * Decimal(Self.powers[j])
                if v == v.rounded(scale: 0, mode: .down), v > 0, v < 1_000_000_000 { return (Int(v.doubleValue), j) }
            }
            return nil
        }
        guard let s = scaled(t.stopLossPercent), let g = scaled(t.takeProfitPercent) else { return nil }
        let j = max(s.1, g.1)
        stopNumerator = s.0 * Self.powers[j - s.1]
        targetNumerator = g.0 * Self.powers[j - g.1]
        fractionScale = j + 2
        guard stopNumerator < Self.powers[fractionScale] else { return nil }
        kellyFraction = r.kellyFraction
        stopFraction = t.stopLossPercent.doubleValue / 100
        maxPosition = t.maxPositionUSD.doubleValue
        prior = r.kellyPriorWinRate
        priorTrades = r.kellyPriorTrades
        stopPercent = t.stopLossPercent
        targetPercent = t.takeProfitPercent
        minRewardRisk = r.minRewardRisk
        maxTradesPerDay = t.maxTradesPerDay
        tickScale = rules.map { $0.flatMap { Decimal.powerOfTenScale($0.tickSize) } }
        qtyStep = rules.map { $0.map { max($0.marketStepSize, $0.stepSize).doubleValue } ?? 0 }
        minQty = rules.map { $0?.marketMinQty.doubleValue ?? 0 }
        minNotional = rules.map { $0?.minNotional.doubleValue ?? 0 }
    }

    /// `x` as m / 10^d with the fewest decimals, when that decimal is what `Decimal(price:)` gives
    /// (the only d-decimal number that rounds to `x`).
    @inline(__always)
    static func decimalParts(_ x: Double) -> (m: Int, d: Int)? {
        // Below 1e-4 `String(x)` has an exponent; keep to plain decimals.
        guard x >= 1e-4, x < 1e15 else { return nil }
        for d in 0...12 {
            let p = Double(powers[d])
            let m = (x * p).rounded()
            guard m < 9e15 else { return nil }
            if m / p == x { return x.ulp < 0.25 / p ? (Int(m), d) : nil }
        }
        return nil
    }

    /// `a * b / 10^e` rounded up (`up`) or down, all positive; nil on overflow.
    @inline(__always)
    static func scaledRound(_ a: Int, _ b: Int, shift e: Int, up: Bool) -> Int? {
        let (v, o) = a.multipliedReportingOverflow(by: b)
        guard !o else { return nil }
        if e <= 0 {
            let (w, o2) = v.multipliedReportingOverflow(by: powers[-e])
            return o2 ? nil : w
        }
        guard e < powers.count else { return nil }
        let q = v / powers[e], r = v % powers[e]
        return up && r != 0 ? q + 1 : q
    }

    /// The gate's reward:risk × 10^4 for an entry of `side` at `price`, exactly; nil when it
    /// cannot be had exactly (see the type's comment).
    func rewardRisk4(side: PositionSide, price: Double, tickScale k: Int) -> Int? {
        // Ticks finer than 10^-12 would index past `powers`: the gate decides those.
        guard k <= 12, let (m, d) = Self.decimalParts(price) else { return nil }
        let one = Self.powers[fractionScale], shift = d + fractionScale - k
        guard targetNumerator < one else { return nil }
        // Stop and target in ticks: long rounds both up, short both down (ProtectivePrices).
        let long = side == .long
        guard let stop = Self.scaledRound(m, long ? one - stopNumerator : one + stopNumerator, shift: shift, up: long),
              let target = Self.scaledRound(m, long ? one + targetNumerator : one - targetNumerator, shift: shift, up: long) else { return nil }
        // Entry, stop and target in units of 10^-max(d, k).
        let unit = max(d, k)
        let (e, o1) = m.multipliedReportingOverflow(by: Self.powers[unit - d])
        let (s, o2) = stop.multipliedReportingOverflow(by: Self.powers[unit - k])
        let (g, o3) = target.multipliedReportingOverflow(by: Self.powers[unit - k])
        guard !o1, !o2, !o3 else { return nil }
        let risk = abs(e - s), reward = abs(g - e)
        guard risk > 0 else { return nil }
        let (n, o4) = reward.multipliedReportingOverflow(by: 10_000)
        guard !o4 else { return nil }
        let q = n / risk, twice = 2 * (n % risk)
        // The gate divides two Doubles and rounds half up: keep clear of the half. The margin
        // covers the Doubles' error (about rr × 10^4 × 2^-52 in these units) only for a moderate
        // ratio: above 100 the gate decides.
        guard q < 1_000_000 else { return nil }
        if Double(abs(twice - risk)) < 2e-9 * Double(risk) { return nil }
        return twice > risk ? q + 1 : q
    }

    /// A rejection code the gate would surely give, or nil (then call the gate).
    mutating func rejection(symbolIndex si: Int, side: PositionSide, price: Double, rules: SymbolRules, closedTrades: Int, wins: Int,
                            equity: Double, tradesToday: Int, pnlWithinLimits: () -> Bool) -> String? {
        // `pnlWithinLimits`: today's P&L > -daily_loss_limit_usd and the week's > -weekly_loss_limit_usd, the gate's checks.
        guard rules.status == "TRADING", qtyStep[si] > 0, let k = tickScale[si], let rr4 = rewardRisk4(side: side, price: price, tickScale: k) else { return nil }
        let b: Double
        if let known = rewardRisk[rr4] {
            guard known.meetsMinimum else { return nil }
            b = known.value
        } else {
            // First time this ratio comes up: take the gate's own figures for it.
            guard let px = Decimal(price: price) else { return nil }
            let prices = ProtectivePrices.compute(side: side, entry: px, stopPercent: stopPercent, targetPercent: targetPercent, tickSize: rules.tickSize)
            guard prices.rewardRisk == Decimal(sign: .plus, exponent: -4, significand: Decimal(rr4)) else { return nil }
            rewardRisk[rr4] = (prices.rewardRisk.doubleValue, prices.rewardRisk >= minRewardRisk)
            guard prices.rewardRisk >= minRewardRisk else { return nil }
            b = prices.rewardRisk.doubleValue
        }
        guard tradesToday < maxTradesPerDay, pnlWithinLimits() else { return nil }
        let p = KellySizer.winRate(closedTrades: closedTrades, wins: wins, prior: prior, priorTrades: priorTrades)
        let fullKelly = KellySizer.fullKelly(winRate: p, rewardRisk: b)
        guard fullKelly > 0 else {
            answered += 1
            return RiskRejection.kellyNotPositive(winRate: p, rewardRisk: b).code
        }
        // The largest size the gate could compute.
        func up(_ x: Double) -> Double { x + abs(x) * 1e-9 }
        let notional = min(up(up(equity * fullKelly * kellyFraction) / stopFraction), up(maxPosition))
        let steps = up(up(notional / price) / qtyStep[si]).rounded(.down)
        let lowQty = minQty[si] * (1 - 1e-9), lowNotional = minNotional[si] * (1 - 1e-9)
        if steps <= 0 || up(up(steps * qtyStep[si]) * price) < lowNotional || up(steps * qtyStep[si]) < lowQty {
            answered += 1
            return RiskRejection.belowMinimum(symbol: rules.symbol, minNotional: 0, minQty: 0, cap: 0, price: 0).code
        }
        return nil
    }
}
