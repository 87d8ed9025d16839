import Foundation

/// A directional signal judged after the fact from candles that opened after it.
public struct SignalLabel: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        /// The target would have been reached before the stop.
        case hit
        /// The stop would have been reached first (or in the same minute).
        case miss
        /// Neither within the horizon; R is the move at the horizon's end.
        case expired
        /// Never judged: a day past its horizon the exchange still returned no candles for it (or
        /// refused the symbol as invalid, -1121). Terminal, so it is not fetched on every reconcile;
        /// counted and shown, but outside the hit rate, the expectancy and the edge breaker's sample.
        case unavailable
    }

    public var signalId: Int64
    public var symbol: String
    public var model: String
    public var direction: Direction
    public var confidence: Double
    public var signalAtMs: Int64
    public var outcome: Outcome
    public var r: Double
    public var costUSD: Double
    /// What the analyst said about its timeframes (nil: not stated).
    public var timeframeAgreement: TimeframeAgreement?

    public init(signalId: Int64, symbol: String, model: String, direction: Direction, confidence: Double, signalAtMs: Int64,
                outcome: Outcome, r: Double, costUSD: Double, timeframeAgreement: TimeframeAgreement? = nil) {
        self.timeframeAgreement = timeframeAgreement
        self.signalId = signalId
        self.symbol = symbol
        self.model = model
        self.direction = direction
        self.confidence = confidence
        self.signalAtMs = signalAtMs
        self.outcome = outcome
        self.r = r
        self.costUSD = costUSD
    }
}

/// Labels signals and summarizes them per analyst model. Pure: the caller passes only candles
/// that opened at or after the signal, so the label never uses what the analyst could see, and
/// `nowMs` so an undecided signal waits for its horizon.
public enum SignalScorecard {
    /// The label of a `direction` call made at `atMs` at `reference`, or nil while it is undecided.
    /// Stops are checked before targets inside one candle (the pessimistic reading); R counts the
    /// taker fee on entry and exit, in units of the stop distance.
    public static func label(direction: Direction, atMs: Int64, reference: Double, after candles: [Candle], nowMs: Int64,
                             stopPercent: Double, targetPercent: Double, feeRate: Double, horizonMs: Int64) -> (outcome: SignalLabel.Outcome, r: Double)? {
        guard direction != .none, reference > 0 else { return nil }
        let s = stopPercent / 100, t = targetPercent / 100, f = feeRate
        let long = direction == .long
        let stop = long ? reference * (1 - s) : reference * (1 + s)
        let target = long ? reference * (1 + t) : reference * (1 - t)
        let end = atMs + horizonMs
        var last: Candle?
        for c in candles where c.openTimeMs >= atMs {
            guard c.openTimeMs + 60_000 <= min(end, nowMs) else { break }
            if long ? c.low <= stop : c.high >= stop { return (.miss, -(s + f + f * (1 - (long ? s : -s))) / s) }
            if long ? c.high >= target : c.low <= target { return (.hit, (t - f - f * (1 + (long ? t : -t))) / s) }
            last = c
        }
        guard nowMs >= end, let last, last.openTimeMs + 60_000 >= end - 5 * 60_000 else { return nil }  // wait for the horizon and its candles
        let move = (last.close - reference) / reference * (long ? 1 : -1)
        return (.expired, (move - f - f * (1 + (long ? move : -move))) / s)
    }

    public struct Bucket: Sendable, Equatable {
        public var low: Double
        public var high: Double
        public var decided: Int
        public var hits: Int
    }

    /// The hit rate of the labels with one stated `timeframe_agreement` (nil: not stated).
    public struct AgreementSlice: Sendable, Equatable {
        public var agreement: TimeframeAgreement?
        public var labelled: Int
        public var decided: Int
        public var hits: Int
        public var interval: (low: Double, high: Double)
        public var hitRate: Double { decided > 0 ? Double(hits) / Double(decided) : 0 }
        public var name: String { agreement?.rawValue ?? "not stated" }

        public static func == (a: Self, b: Self) -> Bool {
            a.agreement == b.agreement && a.labelled == b.labelled && a.decided == b.decided && a.hits == b.hits
        }
    }

    public struct Card: Sendable {
        public var model: String
        /// Judged labels (hit, miss, expired); the `unavailable` ones are counted apart.
        public var labelled: Int
        public var hits: Int
        public var misses: Int
        public var expired: Int
        /// Hits among hits and misses, its 95 % Wilson interval.
        public var hitRate: Double
        public var interval: (low: Double, high: Double)
        public var expectancyR: Double
        public var costUSD: Double
        public var costPerSignalUSD: Double
        public var costPerHitUSD: Double?
        public var buckets: [Bucket]
        /// By the answer's `timeframe_agreement`, only the values that occur.
        public var byAgreement: [AgreementSlice] = []
        /// Signals the exchange never had candles for (``SignalLabel/Outcome/unavailable``): not judged.
        public var unavailable: Int = 0
        public var decided: Int { hits + misses }
    }

    public static let bucketEdges: [Double] = [0, 0.6, 0.7, 0.8, 0.9, 1.0001]

    public static func cards(_ labels: [SignalLabel]) -> [Card] {
        Dictionary(grouping: labels, by: \.model).keys.sorted().map { model in
            // What the analyst was paid for counts every signal; what it is judged on, only those with candles.
            let paid = labels.filter { $0.model == model }
            let mine = paid.filter { $0.outcome != .unavailable }
            let hits = mine.filter { $0.outcome == .hit }.count, misses = mine.filter { $0.outcome == .miss }.count
            let decided = hits + misses
            let cost = paid.reduce(0) { $0 + $1.costUSD }
            let buckets = zip(bucketEdges, bucketEdges.dropFirst()).map { lo, hi -> Bucket in
                let inside = mine.filter { $0.confidence >= lo && $0.confidence < hi && $0.outcome != .expired }
                return Bucket(low: lo, high: min(hi, 1), decided: inside.count, hits: inside.filter { $0.outcome == .hit }.count)
            }
            return Card(model: model, labelled: mine.count, hits: hits, misses: misses, expired: mine.count - decided,
                        hitRate: decided > 0 ? Double(hits) / Double(decided) : 0, interval: Statistics.wilson(successes: hits, trials: decided),
                        expectancyR: mine.isEmpty ? 0 : mine.reduce(0) { $0 + $1.r } / Double(mine.count), costUSD: cost,
                        costPerSignalUSD: paid.isEmpty ? 0 : cost / Double(paid.count), costPerHitUSD: hits > 0 ? cost / Double(hits) : nil,
                        buckets: buckets, byAgreement: agreementSlices(mine), unavailable: paid.count - mine.count)
        }
    }

    /// Hit rates per stated `timeframe_agreement` (aligned, mixed, conflicting, not stated), the ones that occur.
    public static func agreementSlices(_ labels: [SignalLabel]) -> [AgreementSlice] {
        ([TimeframeAgreement?](TimeframeAgreement.allCases) + [nil]).compactMap { a in
            let inside = labels.filter { $0.timeframeAgreement == a && $0.outcome != .unavailable }
            guard !inside.isEmpty else { return nil }
            let hits = inside.filter { $0.outcome == .hit }.count, decided = inside.filter { $0.outcome == .hit || $0.outcome == .miss }.count
            return AgreementSlice(agreement: a, labelled: inside.count, decided: decided, hits: hits, interval: Statistics.wilson(successes: hits, trials: decided))
        }
    }

    /// The edge breaker's rule: after `minimum` decided labels, an upper Wilson bound below the
    /// break-even hit rate means the analyst has shown it does not pay for its fees.
    public static func edgeAbsent(_ card: Card, breakEven: Double, minimum: Int) -> Bool {
        card.decided >= minimum && card.interval.high < breakEven
    }

    public static func render(_ cards: [Card], breakEven: Double) -> [String] {
        guard !cards.isEmpty else { return ["scorecard: no labelled signals yet"] }
        var out: [String] = []
        for c in cards {
            out.append("\(c.model): \(c.labelled) labelled (\(c.hits) hit, \(c.misses) miss, \(c.expired) expired)"
                       + (c.unavailable == 0 ? "" : ", \(c.unavailable) unavailable (no candles from the exchange, not judged)") + "; "
                       + (c.decided == 0 ? "hit rate n/a" : String(format: "hit rate %.1f %% (95 %% Wilson %.1f–%.1f %%, n = %d)",
                                                                     c.hitRate * 100, c.interval.low * 100, c.interval.high * 100, c.decided))
                       + String(format: " vs break-even %.1f %%; expectancy %+.3f R after fees; cost %.4f USD (%.5f per signal, %@ per hit)",
                                breakEven * 100, c.expectancyR, c.costUSD, c.costPerSignalUSD, c.costPerHitUSD.map { String(format: "%.5f", $0) } ?? "n/a"))
            let calibration = c.buckets.filter { $0.decided > 0 }.map {
                String(format: "%.1f–%.1f: %d/%d", $0.low, $0.high, $0.hits, $0.decided)
            }
            out.append("  calibration (confidence: hits/decided): " + (calibration.isEmpty ? "n/a" : calibration.joined(separator: ", ")))
            let agreement = c.byAgreement.map { s in
                "\(s.name) \(s.hits)/\(s.decided)" + (s.decided == 0 ? "" : String(format: " (%.1f %%, 95 %% Wilson %.1f–%.1f %%)", s.hitRate * 100,
                                                                                    s.interval.low * 100, s.interval.high * 100))
            }
            out.append("  by timeframe agreement (hits/decided): " + (agreement.isEmpty ? "n/a" : agreement.joined(separator: ", ")))
        }
        return out
    }
}
