import Foundation

/// A small, fast, reproducible generator (SplitMix64). Every statistic that resamples takes one
/// explicitly, so a figure printed today is the figure printed tomorrow for the same seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Independent stream number `index` of a base seed (for one generator per worker or per seed).
    public static func stream(_ base: UInt64, _ index: Int) -> SeededRandom {
        var mixer = SeededRandom(seed: base ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        return SeededRandom(seed: mixer.next())
    }
}

/// The statistics behind "does this analyst beat a coin flip after fees": pure functions, the
/// random generator passed in. docs/EVALUATION.md explains each one and how to read it.
public enum EdgeStatistics {
    /// Win rate at which a trade with these stop and target distances breaks even after paying
    /// the taker fee on entry and on exit (exit notional moves with the price).
    ///
    /// Per unit of entry notional a win earns `t − f − f(1 ± t)` and a loss costs `s + f + f(1 ∓ s)`;
    /// the break-even rate is loss / (win + loss). Long and short differ by `f·(t − s)`-sized terms;
    /// the larger (the harder bar) of the two is returned.
    public static func breakEvenWinRate(stopPercent: Double, targetPercent: Double, feeRate: Double) -> Double {
        let s = stopPercent / 100, t = targetPercent / 100, f = feeRate
        func rate(win: Double, loss: Double) -> Double { win + loss > 0 ? loss / (win + loss) : 1 }
        let long = rate(win: t - f - f * (1 + t), loss: s + f + f * (1 - s))
        let short = rate(win: t - f - f * (1 - t), loss: s + f + f * (1 + s))
        return max(long, short)
    }

    /// Percentile-bootstrap 95 % interval of the mean.
    public static func bootstrapMean<G: RandomNumberGenerator>(_ xs: [Double], resamples: Int = 2000, level: Double = 0.95,
                                                               using rng: inout G) -> (low: Double, high: Double) {
        guard !xs.isEmpty else { return (.nan, .nan) }
        guard xs.count > 1 else { return (xs[0], xs[0]) }
        var means = [Double](repeating: 0, count: max(1, resamples))
        let n = xs.count
        for k in means.indices {
            var sum = 0.0
            for _ in 0..<n { sum += xs[Int.random(in: 0..<n, using: &rng)] }
            means[k] = sum / Double(n)
        }
        means.sort()
        let a = (1 - level) / 2
        return (quantile(sorted: means, a), quantile(sorted: means, 1 - a))
    }

    /// Where `observed` falls among `baseline` outcomes: percentile (0–100, ties count half) and the
    /// one-sided p-value `(1 + #{baseline ≥ observed}) / (1 + N)` of "no better than the baseline".
    public static func rank(observed: Double, among baseline: [Double]) -> (percentile: Double, p: Double) {
        guard !baseline.isEmpty else { return (.nan, 1) }
        var below = 0, ties = 0, atLeast = 0
        let eps = 1e-9
        for b in baseline {
            if b < observed - eps { below += 1 } else if b <= observed + eps { ties += 1 }
            if b >= observed - eps { atLeast += 1 }
        }
        let n = Double(baseline.count)
        return ((Double(below) + Double(ties) / 2) / n * 100, Double(1 + atLeast) / (n + 1))
    }

    /// The `q` quantile of the max drawdown over `shuffles` random orderings of the same trade results:
    /// how deep a drawdown the same trades could have dug in another order.
    public static func monteCarloDrawdown<G: RandomNumberGenerator>(_ pnls: [Double], shuffles: Int = 1000, quantile q: Double = 0.95,
                                                                   using rng: inout G) -> Double {
        guard !pnls.isEmpty, shuffles > 0 else { return 0 }
        var order = pnls, worst = [Double](repeating: 0, count: shuffles)
        for k in 0..<shuffles {
            order.shuffle(using: &rng)
            var equity = 0.0, peak = 0.0, dd = 0.0
            for x in order {
                equity += x
                peak = max(peak, equity)
                dd = max(dd, peak - equity)
            }
            worst[k] = dd
        }
        worst.sort()
        return quantile(sorted: worst, q)
    }

    /// Linear-interpolated quantile of sorted values.
    public static func quantile(sorted xs: [Double], _ q: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let pos = min(max(q, 0), 1) * Double(xs.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, xs.count - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - Double(lo))
    }
}

/// The one line a user cannot miss, shared by `gobot evaluate` and `gobot backtest`.
public enum EdgeVerdict {
    /// Significance level of the verdict.
    public static let alpha = 0.05
    /// Below this many trades the line says the sample is too small, whatever the p-value.
    public static let minimumTrades = 30

    /// "p < 0.001" or "p = 0.042".
    public static func pText(_ p: Double) -> String { p < 0.001 ? "p < 0.001" : String(format: "p = %.3f", p) }

    public static func line(p: Double, trades: Int, netUSD: Double) -> String {
        let pText = pText(p)
        if trades == 0 { return "edge: NOT demonstrated (no trades)" }
        if p < alpha && netUSD > 0 {
            let small = trades < minimumTrades ? "; only \(trades) trades, treat as a hint" : ""
            return "edge: positive at 95 % (\(pText), \(trades) trades\(small))"
        }
        return "edge: NOT demonstrated (\(pText), \(trades) trades)"
    }

    /// "win rate 33.6 % (95 % Wilson 27.9–39.9 %) vs break-even 35.0 %".
    public static func winRateLine(wins: Int, trades: Int, breakEven: Double) -> String {
        guard trades > 0 else { return String(format: "win rate: no closed trades; break-even %.1f %% after fees", breakEven * 100) }
        let w = Statistics.wilson(successes: wins, trials: trades)
        return String(format: "win rate %.1f %% (95 %% Wilson %.1f–%.1f %%, n = %d) vs break-even %.1f %% after fees",
                      Double(wins) / Double(trades) * 100, w.low * 100, w.high * 100, trades, breakEven * 100)
    }
}
