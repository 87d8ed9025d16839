import Foundation

/// The live trades' edge (`gobot validate`): the analyst's direction calls against random sides at
/// the same entries, both measured by the same replay, beside what the trades booked.
extension EdgeEvaluation {
    public struct BookedComparison: Sendable {
        /// Entries judged (each with its own candles).
        public var trades: Int
        /// Sum of the trades' booked net (realized P&L after fees and funding, from the ledger): the
        /// realised figure, shown beside the rank, never ranked itself.
        public var bookedNetUSD: Double
        /// Sum of the analyst's sides replayed by the same rules as the baseline's: the ranked figure.
        public var replayedNetUSD: Double
        public var baselineMedianUSD: Double
        public var baselineLowUSD: Double
        public var baselineHighUSD: Double
        public var percentile: Double
        public var p: Double
        /// Every entry replayed long, and every one short.
        public var alwaysLongUSD: Double
        public var alwaysShortUSD: Double
        public var verdict: String { EdgeVerdict.line(p: p, trades: trades, netUSD: bookedNetUSD) }
    }

    /// Ranks the analyst's sides of `entries` among `seeds` random-side choices, every side of every
    /// entry measured the same way: replayed on the entry's own `candles` (index for index with
    /// `entries`; the caller passes only candles that run without a gap from the entry) entering at
    /// the market with the configured slippage and taker fee, today's stop and target, stop before
    /// target inside a minute, the same tick rule, each side to its own stop or target or marked at
    /// the last close, and no funding on either side (the database holds no funding series).
    /// Ranking what a trade booked among replays of its other side shifted the
    /// baseline by every difference between a real fill and a replay (slippage better than
    /// configured, funding carried on one side only, the true order inside a minute, the config of
    /// the day, the real exit): the analyst ranked higher than its direction calls earned. `booked`
    /// is only summed, the realised figure shown beside the rank.
    public static func bookedAgainstRandom(entries: [Entry], booked: [Double], candles: [[Candle]],
                                           config: GobotConfig, seeds: Int = 1000, seed: UInt64 = Options().seed) -> BookedComparison {
        precondition(entries.count == booked.count && entries.count == candles.count, "one booked net and one candle run per entry")
        let n = entries.count
        let pairs = ParallelMap.map(n) { k -> (long: Double, short: Double) in
            let e = entries[k], rule = defaultRule(e.symbol)
            return (replay(e, side: .long, candles: candles[k], funding: [:], rule: rule, config: config, ownFill: false).net,
                    replay(e, side: .short, candles: candles[k], funding: [:], rule: rule, config: config, ownFill: false).net)
        }
        let seeds = max(1, seeds)
        var baseline = ParallelMap.map(seeds) { s -> Double in
            var rng = SeededRandom.stream(seed, s)
            var sum = 0.0, bits: UInt64 = 0
            for k in 0..<n {
                if k % 64 == 0 { bits = rng.next() }
                sum += bits >> UInt64(k % 64) & 1 == 1 ? pairs[k].long : pairs[k].short
            }
            return sum
        }
        let replayed = (0..<n).reduce(0.0) { $0 + (entries[$1].side == .long ? pairs[$1].long : pairs[$1].short) }
        let ranked = EdgeStatistics.rank(observed: replayed, among: baseline)
        baseline.sort()
        return BookedComparison(trades: n, bookedNetUSD: booked.reduce(0, +), replayedNetUSD: replayed,
                                baselineMedianUSD: EdgeStatistics.quantile(sorted: baseline, 0.5),
                                baselineLowUSD: EdgeStatistics.quantile(sorted: baseline, 0.05), baselineHighUSD: EdgeStatistics.quantile(sorted: baseline, 0.95),
                                percentile: ranked.percentile, p: ranked.p,
                                alwaysLongUSD: pairs.reduce(0) { $0 + $1.long }, alwaysShortUSD: pairs.reduce(0) { $0 + $1.short })
    }
}
