import Foundation
import GobotCore
import Testing

@Suite struct SignalScorecardTests {
    static let t0: Int64 = 1_747_699_200_000
    static func candles(_ prices: [Double], from start: Int64 = t0) -> [Candle] {
        prices.enumerated().map { Candle(openTimeMs: start + Int64($0.offset) * 60_000, open: $0.element, high: $0.element + 0.001, low: $0.element - 0.001,
                                         close: $0.element, volume: 1) }
    }

    func label(_ d: Direction, at minute: Int, _ c: [Candle], now: Int, horizon: Int = 60) -> (outcome: SignalLabel.Outcome, r: Double)? {
        SignalScorecard.label(direction: d, atMs: Self.t0 + Int64(minute) * 60_000, reference: 2, after: c, nowMs: Self.t0 + Int64(now) * 60_000,
                              stopPercent: 2, targetPercent: 4, feeRate: 0.0005, horizonMs: Int64(horizon) * 60_000)
    }

    @Test func targetBeforeStopIsAHitStopFirstIsAMissWithRAfterFees() throws {
        let rise = Self.candles(Array(repeating: 2.0, count: 10) + (1...20).map { 2.0 + Double($0) * 0.01 } + Array(repeating: 2.2, count: 60))
        let long = try #require(label(.long, at: 5, rise, now: 90))
        #expect(long.outcome == .hit)
        #expect(abs(long.r - (0.04 - 0.0005 - 0.0005 * 1.04) / 0.02) < 1e-9)
        let short = try #require(label(.short, at: 5, rise, now: 90))
        #expect(short.outcome == .miss)
        #expect(abs(short.r + (0.02 + 0.0005 + 0.0005 * 1.02) / 0.02) < 1e-9)
    }

    @Test func neverUsesCandlesBeforeTheSignalOrAfterNowAndWaitsForTheHorizon() {
        // A spike before the signal would be a hit; after it the price is flat.
        let c = Self.candles([2.0, 2.3, 2.0] + Array(repeating: 2.0, count: 80))
        #expect(label(.long, at: 3, c, now: 30) == nil)  // undecided before the horizon
        let done = label(.long, at: 3, c, now: 70)
        #expect(done?.outcome == .expired)
        #expect((done?.r ?? 0) < 0)  // flat price: only the fees
        // The same candles, but the spike comes after `now`: still undecided.
        let later = Self.candles(Array(repeating: 2.0, count: 20) + [2.3] + Array(repeating: 2.0, count: 60))
        #expect(label(.long, at: 3, later, now: 15) == nil)
        #expect(label(.long, at: 3, later, now: 30)?.outcome == .hit)
        #expect(label(.none, at: 3, later, now: 70) == nil)
    }

    @Test func cardsCountHitsCalibrationAndCostAndTheBreakerRule() {
        var labels: [SignalLabel] = []
        for i in 0..<60 {
            let hit = i % 5 == 0  // 12 of 60
            labels.append(SignalLabel(signalId: Int64(i), symbol: "XRPUSDT", model: "m", direction: .long, confidence: hit ? 0.85 : 0.75,
                                      signalAtMs: Int64(i), outcome: hit ? .hit : .miss, r: hit ? 1.9 : -1.05, costUSD: 0.001))
        }
        labels.append(SignalLabel(signalId: 99, symbol: "XRPUSDT", model: "other", direction: .short, confidence: 0.9, signalAtMs: 99,
                                  outcome: .expired, r: -0.1, costUSD: 0))
        let cards = SignalScorecard.cards(labels)
        #expect(cards.map(\.model) == ["m", "other"])
        let m = cards[0]
        #expect(m.decided == 60 && m.hits == 12)
        #expect(abs(m.hitRate - 0.2) < 1e-12)
        #expect(m.interval == Statistics.wilson(successes: 12, trials: 60))
        #expect(abs(m.costPerSignalUSD - 0.001) < 1e-12 && abs((m.costPerHitUSD ?? 0) - 0.005) < 1e-12)
        #expect(m.buckets.first { $0.low == 0.8 }?.hits == 12)
        #expect(m.buckets.first { $0.low == 0.7 }?.decided == 48)
        #expect(SignalScorecard.edgeAbsent(m, breakEven: 0.35, minimum: 50))
        #expect(!SignalScorecard.edgeAbsent(m, breakEven: 0.35, minimum: 61))   // too few yet
        #expect(!SignalScorecard.edgeAbsent(m, breakEven: 0.30, minimum: 50))   // interval reaches 30 %
        #expect(cards[1].decided == 0 && cards[1].expired == 1)
        let text = SignalScorecard.render(cards, breakEven: 0.35).joined(separator: "\n")
        #expect(text.contains("95 % Wilson") && text.contains("break-even 35.0 %") && text.contains("calibration"))
    }
}
