import Foundation

/// The live trades' edge (`gobot validate`): the analyst's closed trades as booked against random
/// sides replayed at the same entries.
extension EdgeEvaluation {
    public struct BookedComparison: Sendable {
        /// Entries judged (each with its own candles).
        public var trades: Int
        /// Sum of the trades' booked net (realized P&L after fees and funding, from the ledger).
        public var bookedNetUSD: Double
        public var baselineMedianUSD: Double
        public var baselineLowUSD: Double
        public var baselineHighUSD: Double
        public var percentile: Double
        public var p: Double
        /// Every entry long (booked where the analyst went long, replayed elsewhere), and every one short.
        public var alwaysLongUSD: Double
        public var alwaysShortUSD: Double
        public var verdict: String { EdgeVerdict.line(p: p, trades: trades, netUSD: bookedNetUSD) }
    }

    /// Ranks the booked net of `entries` among `seeds` random-side choices. A random choice of the
    /// analyst's own side counts what that side booked; of the other side, that side replayed on the
    /// entry's own `candles` (index for index with `entries`) with the same stop, target and fees. The
    /// caller passes only candles that run without a gap from the entry, so nothing is replayed over
    /// missing minutes; a side still open when they end is marked at their last close. The analyst's
    /// side is never replayed: its booked result is what it made (replayed on prices days later it
    /// once overstated the edge), and a replay that differs from the booking by slippage or funding
    /// cannot rank the analyst above a baseline made of the same numbers.
    public static func bookedAgainstRandom(entries: [Entry], booked: [Double], candles: [[Candle]], config: GobotConfig,
                                           seeds: Int = 1000, seed: UInt64 = Options().seed) -> BookedComparison {
        precondition(entries.count == booked.count && entries.count == candles.count, "one booked net and one candle run per entry")
        let n = entries.count
        let pairs = ParallelMap.map(n) { k -> (long: Double, short: Double) in
            let e = entries[k]
            let other = replay(e, side: e.side == .long ? .short : .long, candles: candles[k], funding: [:], rule: defaultRule(e.symbol), config: config).net
            return e.side == .long ? (booked[k], other) : (other, booked[k])
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
        let net = booked.reduce(0, +)
        let ranked = EdgeStatistics.rank(observed: net, among: baseline)
        baseline.sort()
        return BookedComparison(trades: n, bookedNetUSD: net, baselineMedianUSD: EdgeStatistics.quantile(sorted: baseline, 0.5),
                                baselineLowUSD: EdgeStatistics.quantile(sorted: baseline, 0.05), baselineHighUSD: EdgeStatistics.quantile(sorted: baseline, 0.95),
                                percentile: ranked.percentile, p: ranked.p,
                                alwaysLongUSD: pairs.reduce(0) { $0 + $1.long }, alwaysShortUSD: pairs.reduce(0) { $0 + $1.short })
    }
}
