import Foundation
import GobotCore
import GobotStore

/// The analyst scorecard and the edge breaker (docs/EVALUATION.md, "The live scorecard").
extension Steps {
    static let edgeBreakerName = "edge"

    /// Whether the edge breaker applies: `risk.edge_breaker.enabled`, or by default on for live and
    /// demo money and off for paper.
    public static func edgeBreakerEnabled(_ config: GobotConfig) -> Bool {
        config.risk.edgeBreaker.enabled ?? (config.exchange.environment != .paper)
    }

    public static func breakEvenHitRate(_ config: GobotConfig) -> Double {
        EdgeStatistics.breakEvenWinRate(stopPercent: config.trading.stopLossPercent.doubleValue, targetPercent: config.trading.takeProfitPercent.doubleValue,
                                        feeRate: config.exchange.takerFeeRate.doubleValue)
    }

    /// Labels every directional signal whose horizon has passed, from 1m candles that opened after it
    /// (stored by scan; the missing ones are fetched), then opens or closes the edge breaker.
    /// Called from reconcile; returns notes for its report.
    ///
    /// Each signal has its own error scope: one whose candles cannot be had (a delisted symbol, a
    /// stray answer) stays unlabelled and the others are labelled; after a temporary exchange error
    /// nothing more is fetched this run, but the labels made and those the stored candles decide
    /// stand. The breaker is checked whatever failed. A failure is still reported (thrown at the
    /// end with everything done), and never turns into a guessed label.
    public static func labelSignalsAndCheckEdge(_ ctx: StepContext, ex: any FuturesExchange) async throws -> [String] {
        let c = ctx.config, now = ctx.nowMs
        let horizon = Int64(c.risk.edgeBreaker.horizonHours) * 3_600_000
        var notes: [String] = [], labelled = 0
        var failures: [(what: String, error: any Error)] = []
        var fetchStopped: ExchangeError?
        do {
            for s in try ctx.db.unlabelledSignals(createdBeforeMs: now - horizon) {
                do {
                    let judged = try await judgeSignal(ctx, ex: ex, s, horizonMs: horizon, mayFetch: fetchStopped == nil)
                    notes += judged.notes
                    guard let verdict = judged.verdict else {
                        let unfetched = judged.wantedFetch ? fetchStopped.map { " (not fetched this run after \($0))" } : nil
                        notes.append("\(s.symbol) signal \(s.id): not enough candles to label yet" + (unfetched ?? ""))
                        continue
                    }
                    try ctx.db.storeLabel(SignalLabel(signalId: s.id, symbol: s.symbol, model: s.signal.model, direction: s.signal.direction,
                                                      confidence: s.signal.confidence, signalAtMs: s.createdAtMs, outcome: verdict.outcome, r: verdict.r,
                                                      costUSD: s.signal.costUSD, timeframeAgreement: s.signal.timeframeAgreement), atMs: now)
                    if verdict.outcome != .unavailable { labelled += 1 }
                } catch let error as ExchangeError where error.isTemporary {
                    fetchStopped = error
                    failures.append(("\(s.symbol) signal \(s.id)", error))
                } catch {
                    failures.append(("\(s.symbol) signal \(s.id)", error))
                }
            }
        } catch {
            failures.append(("the unlabelled signals", error))
        }
        if labelled > 0 { notes.append("labelled \(labelled) signal(s)") }
        // The record only changes with a new label; an open breaker is re-checked every run (config may have changed).
        do {
            let breakerOpen = try ctx.db.breaker(edgeBreakerName).isOpen(atMs: now)
            if labelled > 0 || breakerOpen, let note = try checkEdgeBreaker(ctx) { notes.append(note) }
        } catch {
            failures.append(("the edge breaker", error))
        }
        guard failures.isEmpty else {
            let message = failures.map { "\($0.what) (\($0.error))" }.joined(separator: "; ") + (notes.isEmpty ? "" : "; done: " + notes.joined(separator: "; "))
            let temporary = failures.allSatisfy { ($0.error as? ExchangeError)?.isTemporary ?? false }
            throw temporary ? StepError.tryLater(message) : StepError.failed(message)
        }
        return notes
    }

    /// The label of one signal, or nil while its candles do not decide it. Stored candles may have
    /// gaps (scan skips a symbol while it holds a position, damaged candles are deleted) or stop
    /// short of the horizon's end: either could hide the stop or the target, so such a record is
    /// fetched from the exchange first (`wantedFetch` when that was not allowed). What the
    /// exchange itself lacks is a fact, but only where its answer spans it (``fetchSpansGaps``).
    static func judgeSignal(_ ctx: StepContext, ex: any FuturesExchange, _ s: GobotDatabase.StoredSignal, horizonMs: Int64,
                            mayFetch: Bool) async throws -> (verdict: (outcome: SignalLabel.Outcome, r: Double)?, notes: [String], wantedFetch: Bool) {
        let c = ctx.config, now = ctx.nowMs, end = s.createdAtMs + horizonMs
        var notes: [String] = []
        // A damaged stored candle deletes the symbol's candles (they are a cache); the fetch refills them.
        func stored() throws -> [Candle]? {
            let read = try readingCandleCache(ctx, symbol: s.symbol) { try ctx.db.candles1m(symbol: s.symbol, fromMs: s.createdAtMs, toMs: end) }
            if read == nil { notes.append("\(s.symbol): a stored candle did not read; its stored candles were deleted, to be fetched again") }
            return read
        }
        func label(_ after: [Candle]) -> (outcome: SignalLabel.Outcome, r: Double)? {
            SignalScorecard.label(direction: s.signal.direction, atMs: s.createdAtMs, reference: s.referencePrice, after: after, nowMs: now,
                                  stopPercent: c.trading.stopLossPercent.doubleValue, targetPercent: c.trading.takeProfitPercent.doubleValue,
                                  feeRate: c.exchange.takerFeeRate.doubleValue, horizonMs: horizonMs)
        }
        // Without a fetch the stored candles must run without a gap from the signal and either
        // decide it (hit or miss) or reach the horizon's last whole minute: the label's 5-minute
        // tolerance at the end is for what the exchange lacks, not for what scan did not store.
        let horizonClose = min(end, now) - min(end, now) % 60_000
        if let after = try stored(), isGapless(after, fromMs: s.createdAtMs), let verdict = label(after),
           verdict.outcome != .expired || after.last.map({ $0.openTimeMs + 60_000 >= horizonClose }) == true {
            return (verdict, notes, false)
        }
        guard mayFetch else { return (nil, notes, true) }
        // A day past the horizon, no candles at all (or -1121, the symbol refused as invalid) is the
        // exchange's last word: the signal is labelled `unavailable` and never fetched again (before,
        // a delisted symbol's signals cost a klines request each on every reconcile, for good). A
        // temporary error (timeout, 5xx, 429, 418) never decides this; it fails the run as before.
        let final = now >= end + unavailableAfterHorizonMs
        func unavailable(_ why: String) -> (verdict: (outcome: SignalLabel.Outcome, r: Double)?, notes: [String], wantedFetch: Bool) {
            (verdict: (.unavailable, 0), notes: notes + ["\(s.symbol) signal \(s.id): labelled unavailable, \(why) a day after its horizon; "
                                                          + "not fetched again, not judged"], wantedFetch: false)
        }
        // scan stores candles only while a symbol is a candidate: fetch the horizon once.
        let fetched: [Candle]
        do {
            fetched = try await ex.klines(symbol: s.symbol, interval: .m1, startMs: s.createdAtMs, limit: Int(min(1500, horizonMs / 60_000 + 1)))
        } catch let error as ExchangeError where final && error.code == invalidSymbolCode {
            return unavailable("the exchange refuses the symbol (\(error))")
        }
        if fetched.isEmpty && final { return unavailable("the exchange still returns no candles for it") }
        // A candle before the signal is an answer to another question (an endpoint that ignores the
        // start): nothing from it is stored or labelled on.
        if let stray = fetched.first(where: { $0.openTimeMs < s.createdAtMs }) {
            throw StepError.failed("1m candles of \(s.symbol): asked from \(s.createdAtMs) ms, the answer holds one opened at \(stray.openTimeMs) ms; "
                                   + "gobot labels nothing from this look-up")
        }
        let closed = fetched.filter { $0.openTimeMs + 60_000 <= now }
        try ctx.db.storeCandles(symbol: s.symbol, interval: .m1, closed)
        guard let after = try stored(), fetchSpansGaps(after, fetched: closed, fromMs: s.createdAtMs) else { return (nil, notes, false) }
        return (label(after), notes, false)
    }

    /// How long after a signal's horizon an empty answer (or -1121) is taken as final.
    static let unavailableAfterHorizonMs = TradingCalendar.dayMs
    /// Binance's "Invalid symbol." (docs: bad symbol, don't retry).
    static let invalidSymbolCode = -1121

    /// Whether 1m candles run minute by minute from `fromMs` on.
    static func isGapless(_ candles: [Candle], fromMs: Int64) -> Bool {
        guard let first = candles.first, first.openTimeMs - fromMs < 60_000 else { return false }
        return zip(candles, candles.dropFirst()).allSatisfy { $1.openTimeMs - $0.openTimeMs == 60_000 }
    }

    /// Whether the gaps left in `candles` (stored and fetched together) are the exchange's own: its
    /// answer starts within a minute of `fromMs` and holds a candle before and one after each gap.
    /// A short, empty or late answer leaves gaps it never looked at.
    static func fetchSpansGaps(_ candles: [Candle], fetched: [Candle], fromMs: Int64) -> Bool {
        guard let first = fetched.map(\.openTimeMs).min(), let last = fetched.map(\.openTimeMs).max(), first - fromMs < 60_000,
              let start = candles.first, start.openTimeMs - fromMs < 60_000 else { return false }
        return zip(candles, candles.dropFirst()).allSatisfy { a, b in
            b.openTimeMs - a.openTimeMs == 60_000 || (first <= a.openTimeMs && last >= b.openTimeMs)
        }
    }

    /// Opens the edge breaker when the current analyst's record shows it does not pay for its fees,
    /// closes it when the record recovers (or the breaker is disabled). Audited and alerted.
    static func checkEdgeBreaker(_ ctx: StepContext) throws -> String? {
        let c = ctx.config, now = ctx.nowMs
        let labels = try ctx.db.signalLabels()
        let breakEven = breakEvenHitRate(c)
        let current = labels.max { $0.signalAtMs < $1.signalAtMs }?.model
        let card = SignalScorecard.cards(labels).first { $0.model == current }
        let open = try ctx.db.breaker(edgeBreakerName).isOpen(atMs: now)
        let absent = edgeBreakerEnabled(c) && card.map { SignalScorecard.edgeAbsent($0, breakEven: breakEven, minimum: c.risk.edgeBreaker.minLabelledSignals) } ?? false
        if absent, !open, let card {
            let reason = String(format: "%@ hit rate %.1f %% (95 %% Wilson %.1f–%.1f %%, n = %d) is below the %.1f %% break-even after fees",
                                card.model, card.hitRate * 100, card.interval.low * 100, card.interval.high * 100, card.decided, breakEven * 100)
            try ctx.db.openBreaker(edgeBreakerName, reason: reason, untilMs: Int64.max / 2, atMs: now)
            Alerts.send(ctx, kind: "breaker", key: "edge-open-\(card.decided)", text: "⛔ edge breaker: \(reason); new entries stopped, labelling goes on")
            return "edge breaker opened: \(reason)"
        }
        if !absent, open {
            let why = edgeBreakerEnabled(c) ? "the hit rate's interval reaches the break-even again" : "risk.edge_breaker.enabled is off"
            try ctx.db.closeBreaker(edgeBreakerName, reason: why, atMs: now)
            Alerts.send(ctx, kind: "breaker", key: "edge-close-\(card?.decided ?? 0)", text: "✅ edge breaker closed: \(why)")
            return "edge breaker closed: \(why)"
        }
        return nil
    }

    /// `gobot scorecard`: per analyst model, labelled signals, hit rate and its interval, calibration,
    /// expectancy and cost, against the break-even hit rate.
    public static func scorecard(_ ctx: StepContext) throws -> StepReport {
        let breakEven = breakEvenHitRate(ctx.config)
        var lines = SignalScorecard.render(SignalScorecard.cards(try ctx.db.signalLabels()), breakEven: breakEven)
        let b = try ctx.db.breaker(edgeBreakerName)
        lines.append("edge breaker: " + (edgeBreakerEnabled(ctx.config) ? "enabled" : "disabled")
                     + " (after \(ctx.config.risk.edgeBreaker.minLabelledSignals) decided labels, horizon \(ctx.config.risk.edgeBreaker.horizonHours) h); "
                     + (b.isOpen(atMs: ctx.nowMs) ? "OPEN: \(b.reason)" : "closed"))
        return StepReport(message: lines.joined(separator: "\n"))
    }

    /// The scorecard for `status --json`, the daily report and metrics.
    public static func scorecardEntries(_ db: GobotDatabase, config: GobotConfig) throws -> [StatusSnapshot.ScorecardEntry] {
        let breakEven = breakEvenHitRate(config)
        return SignalScorecard.cards(try db.signalLabels()).map {
            StatusSnapshot.ScorecardEntry(model: $0.model, labelled: $0.labelled, hits: $0.hits, misses: $0.misses, expired: $0.expired,
                                          unavailable: $0.unavailable,
                                          hitRate: $0.hitRate, wilsonLow: $0.interval.low, wilsonHigh: $0.interval.high, breakEvenHitRate: breakEven,
                                          expectancyR: $0.expectancyR, costUSD: $0.costUSD, costPerSignalUSD: $0.costPerSignalUSD,
                                          byTimeframeAgreement: $0.byAgreement.map {
                                              StatusSnapshot.AgreementEntry(agreement: $0.name, labelled: $0.labelled, decided: $0.decided, hits: $0.hits,
                                                                            wilsonLow: $0.interval.low, wilsonHigh: $0.interval.high)
                                          })
        }
    }
}
