import Foundation

/// Plain-text rendering of an edge evaluation: every performance figure with its sample size,
/// interval, fees and funding, the break-even win rate and the random baseline (non-negotiable 8).
public enum EdgeReportText {
    public static func usd(_ x: Double) -> String { String(format: "%+.4f", x) }

    public static func lines(_ g: EdgeEvaluation.Group, breakEven: Double, seeds: Int, indent: String = "  ") -> [String] {
        var out = [String]()
        guard g.trades > 0 else { return ["\(indent)no trades (nothing to measure; below the minimum notional, or no signal passed the gate)"] }
        let wr = g.closed > 0 ? String(format: "%.1f %%", Double(g.wins) / Double(g.closed) * 100) : "n/a"
        out.append("\(indent)trades \(g.trades) (\(g.closed) closed, \(g.open) open at the end, marked to market); win rate \(wr) "
                   + String(format: "(95 %% Wilson %.1f–%.1f %%, n = %d) vs break-even %.1f %%", g.winRateInterval.low * 100, g.winRateInterval.high * 100,
                            g.closed, breakEven * 100))
        out.append("\(indent)net \(usd(g.netUSD)) USD after fees \(usd(0 - g.feesUSD)) and funding \(usd(g.fundingUSD)); "
                   + (g.trades == 0 ? "expectancy n/a" : String(format: "expectancy %+.3f R per trade (bootstrap 95 %% %+.3f to %+.3f R)",
                                                                  g.expectancyR, g.expectancyRInterval.low, g.expectancyRInterval.high)))
        out.append("\(indent)max drawdown \(String(format: "%.4f", g.maxDrawdownUSD)) USD marked to market; 95th percentile over shuffled trade orders "
                   + String(format: "%.4f USD", g.shuffledDrawdown95USD))
        out.append("\(indent)random sides at the same entries (\(seeds) seeds): median \(usd(g.baselineMedianUSD)), 5–95 % \(usd(g.baselineLowUSD)) to "
                   + "\(usd(g.baselineHighUSD)) USD; analyst at percentile \(String(format: "%.1f", g.percentile)), p = \(String(format: "%.3f", g.p)); "
                   + "always long \(usd(g.alwaysLongUSD)), always short \(usd(g.alwaysShortUSD)) USD")
        return out
    }

    public static func render(_ r: EdgeEvaluation.Report, title: String) -> String {
        var out = [title]
        out.append(String(format: "break-even win rate %.1f %% (stop and target from the config, taker fee on entry and exit)", r.breakEvenWinRate * 100))
        out.append("whole range \(TradingCalendar.dayString(r.whole.fromMs)) → \(TradingCalendar.dayString(r.whole.toMs)) UTC:")
        out += lines(r.whole, breakEven: r.breakEvenWinRate, seeds: r.seeds)
        for f in r.folds {
            out.append("\(f.name) \(TradingCalendar.dayString(f.fromMs)) → \(TradingCalendar.dayString(f.toMs)):")
            out += lines(f, breakEven: r.breakEvenWinRate, seeds: r.seeds)
        }
        for s in r.symbols {
            out.append("\(s.name):")
            out += lines(s, breakEven: r.breakEvenWinRate, seeds: r.seeds)
        }
        out.append(consistency(r))
        out.append(r.whole.verdict)
        return out.joined(separator: "\n")
    }

    /// How many folds agree with the whole-range result.
    public static func consistency(_ r: EdgeEvaluation.Report) -> String {
        let traded = r.folds.filter { $0.trades > 0 }
        let positive = traded.filter { $0.netUSD > 0 }.count
        let aboveMedian = traded.filter { $0.netUSD > $0.baselineMedianUSD }.count
        let significant = traded.filter { $0.p < EdgeVerdict.alpha && $0.netUSD > 0 }.count
        return "folds: \(traded.count) of \(r.folds.count) with trades; \(positive) net positive, \(aboveMedian) above the random median, "
            + "\(significant) significant at 95 %" + (traded.count > 1 && aboveMedian == traded.count ? " (consistent)" :
                (traded.count > 1 ? " (not consistent across folds)" : ""))
    }
}
