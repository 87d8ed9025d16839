import Foundation
import GobotCore
import Testing

@Suite struct EdgeStatisticsTests {
    @Test func breakEvenForTwoToOneWithTakerFeesIsThirtyFivePercent() {
        // 2 % stop, 4 % target, 0.05 % taker fee each way: loss 2.099 %, win 3.898 % of notional.
        let p = EdgeStatistics.breakEvenWinRate(stopPercent: 2, targetPercent: 4, feeRate: 0.0005)
        #expect(abs(p - 0.02099 / (0.02099 + 0.03898)) < 0.0005)
        #expect(String(format: "%.1f", p * 100) == "35.0")
        // Without fees it is the plain 1 / (1 + reward:risk).
        #expect(abs(EdgeStatistics.breakEvenWinRate(stopPercent: 2, targetPercent: 4, feeRate: 0) - 1.0 / 3) < 1e-12)
        // Fees push it up.
        #expect(EdgeStatistics.breakEvenWinRate(stopPercent: 0.5, targetPercent: 1, feeRate: 0.0005) > 0.36)
    }

    @Test func rankGivesPercentileAndOneSidedPValue() {
        let baseline = (0..<99).map(Double.init)  // 0…98
        let top = EdgeStatistics.rank(observed: 1000, among: baseline)
        #expect(top.percentile == 100)
        #expect(abs(top.p - 1.0 / 100) < 1e-12)
        let bottom = EdgeStatistics.rank(observed: -1, among: baseline)
        #expect(bottom.p == 1)
        #expect(bottom.percentile == 0)
        let middle = EdgeStatistics.rank(observed: 49, among: baseline)
        #expect(abs(middle.percentile - 49.5 / 99 * 100) < 1e-9)
        #expect(abs(middle.p - 51.0 / 100) < 1e-12)
    }

    @Test func bootstrapIntervalCoversTheMeanAndNarrowsWithMoreData() {
        var rng = SeededRandom(seed: 7)
        let small = (0..<20).map { _ in Double.random(in: -1...2, using: &rng) }
        let large = (0..<2000).map { _ in Double.random(in: -1...2, using: &rng) }
        var r1 = SeededRandom(seed: 1), r2 = SeededRandom(seed: 1)
        let a = EdgeStatistics.bootstrapMean(small, using: &r1)
        let b = EdgeStatistics.bootstrapMean(large, using: &r2)
        let meanSmall = small.reduce(0, +) / 20, meanLarge = large.reduce(0, +) / 2000
        #expect(a.low < meanSmall && meanSmall < a.high)
        #expect(b.low < meanLarge && meanLarge < b.high)
        #expect(b.high - b.low < (a.high - a.low) / 4)
        #expect(abs(meanLarge - 0.5) < 0.1 && b.low < 0.5 + 0.1)
        // Same seed, same interval.
        var r3 = SeededRandom(seed: 1)
        #expect(EdgeStatistics.bootstrapMean(small, using: &r3) == a)
    }

    @Test func shuffledDrawdownIsAtLeastTheBestOrderAndAtMostAllLossesInARow() {
        let pnls = [3.0, -1, -1, 2, -1, 4, -1, -1, -1, 2]
        var rng = SeededRandom(seed: 3)
        let dd95 = EdgeStatistics.monteCarloDrawdown(pnls, shuffles: 2000, using: &rng)
        let allLosses = pnls.filter { $0 < 0 }.reduce(0, +)
        #expect(dd95 <= -allLosses + 1e-9)
        #expect(dd95 >= 3)  // many orders put three or more losses together
    }

    @Test func seededStreamsAreReproducibleAndDistinct() {
        var a = SeededRandom.stream(42, 0), b = SeededRandom.stream(42, 0), c = SeededRandom.stream(42, 1)
        let x = (0..<4).map { _ in a.next() }
        #expect(x == (0..<4).map { _ in b.next() })
        #expect(x != (0..<4).map { _ in c.next() })
    }

    @Test func verdictSaysNotDemonstratedUnlessSignificantAndPositive() {
        #expect(EdgeVerdict.line(p: 0.63, trades: 235, netUSD: -1.78) == "edge: NOT demonstrated (p = 0.630, 235 trades)")
        #expect(EdgeVerdict.line(p: 0.01, trades: 235, netUSD: 3).hasPrefix("edge: positive at 95 % (p = 0.010, 235 trades"))
        #expect(EdgeVerdict.line(p: 0.01, trades: 235, netUSD: -3).hasPrefix("edge: NOT demonstrated"))
        #expect(EdgeVerdict.line(p: 0.004, trades: 12, netUSD: 1).contains("only 12 trades"))
    }
}
