import Foundation
import GobotCore
import GobotStore
import Testing
@testable import GobotSteps

/// The scorecard and the edge breaker through the cron steps on the paper exchange.
@Suite struct EdgeBreakerTests {
    /// 2.0 flat, up to 2.2 (minutes 20–40), flat, up to 2.4 (minutes 100–120), flat.
    static let prices: [Double] = (0..<240).map { m in
        switch m {
        case ..<20: 2.0
        case 20..<40: 2.0 + Double(m - 20) * 0.01
        case 40..<100: 2.2
        case 100..<120: 2.2 + Double(m - 100) * 0.01
        default: 2.4
        }
    }

    func harness(enabled: Bool?) throws -> TradingHarness {
        var h = try TradingHarness(prices: Self.prices)
        h.ctx.config.risk.edgeBreaker.enabled = enabled
        h.ctx.config.risk.edgeBreaker.minLabelledSignals = 10
        h.ctx.config.risk.edgeBreaker.horizonHours = 1
        return h
    }

    func signal(_ h: TradingHarness, _ d: Direction, minute: Int) throws {
        h.at(minute: minute)
        try h.db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: h.clock.nowMs(), signal: Signal(direction: d, confidence: 0.8, rationale: "t", model: "scripted"),
                             referencePrice: Self.prices[minute], chartHashes: [])
    }

    /// A long from 2.0 at minute 5 (horizon 1 hour) on flat prices that dip to 1.95 at `dip` (its
    /// 2 % stop), the clock at minute 90; scan stored the candles of the minutes `stored` picks.
    func longFromMinute5(dip: ClosedRange<Int>, stored: (Int) -> Bool) async throws -> TradingHarness {
        var h = try TradingHarness(prices: (0..<120).map { dip.contains($0) ? 1.95 : 2.0 })
        h.ctx.config.risk.edgeBreaker.horizonHours = 1
        h.at(minute: 5)
        try h.db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: h.clock.nowMs(), signal: Signal(direction: .long, confidence: 0.8, rationale: "t", model: "scripted"),
                             referencePrice: 2.0, chartHashes: [])
        h.at(minute: 90)
        let all = try await h.exchange.klines(symbol: "XRPUSDT", interval: .m1, startMs: TradingHarness.t0, limit: 120)
        try h.db.storeCandles(symbol: "XRPUSDT", interval: .m1, all.filter { stored(Int(($0.openTimeMs - TradingHarness.t0) / 60_000)) && $0.openTimeMs + 60_000 <= h.clock.nowMs() })
        h.exchange.klinesAsked = []
        return h
    }

    @Test func aGapInTheStoredCandlesIsFetchedBeforeTheSignalIsLabelled() async throws {
        // A long from 2.0 reaches its 2 % stop at minutes 30–32; scan stored none while it skipped the symbol (25–40).
        let h = try await longFromMinute5(dip: 30...32) { !(25...40).contains($0) }
        _ = try await Steps.reconcile(h.ctx)
        // Labelled over the gap it was "expired" (flat), and the scorecard overstated the analyst.
        let label = try #require(try h.db.signalLabels().first)
        #expect(label.outcome == .miss)
    }

    @Test func aSignalWhoseCandlesCannotBeFetchedLeavesTheOthersLabelledAndTheBreakerChecked() async throws {
        let h = try harness(enabled: true)
        // Oldest first: a delisted symbol (klines answer -1121, not temporary), 13 losing shorts on
        // XRPUSDT, then one on a symbol whose klines are down (503), and one more that needs a fetch.
        h.at(minute: 1)
        try h.db.storeSignal(candidateId: nil, symbol: "GONEUSDT", atMs: h.clock.nowMs(), signal: Signal(direction: .long, confidence: 0.8, rationale: "t", model: "scripted"),
                             referencePrice: 3, chartHashes: [])
        for m in 1...12 { try signal(h, .short, minute: m) }
        h.at(minute: 13)
        for symbol in ["SLOWUSDT", "OTHERUSDT"] {
            try h.db.storeSignal(candidateId: nil, symbol: symbol, atMs: h.clock.nowMs(), signal: Signal(direction: .long, confidence: 0.8, rationale: "t", model: "scripted"),
                                 referencePrice: 3, chartHashes: [])
        }
        // Its horizon lies in candles the earlier fetches stored: labelled after the outage too.
        try signal(h, .short, minute: 13)
        h.exchange.klinesFailures = ["GONEUSDT": .rejected(code: -1121, message: "Invalid symbol."), "SLOWUSDT": .unavailable("GET /fapi/v1/klines: HTTP 503")]
        h.at(minute: 75)
        let report = try await Steps.reconcile(h.ctx)

        let labels = try h.db.signalLabels()
        #expect(labels.count == 13 && labels.allSatisfy { $0.symbol == "XRPUSDT" && $0.outcome == .miss })
        #expect(try h.db.breaker("edge").isOpen(atMs: h.clock.nowMs()))
        // After the temporary failure nothing more was fetched this run.
        #expect(!h.exchange.klinesAsked.contains("OTHERUSDT"))
        // The failure is reported (exit 1: one of them is not temporary), never turned into a label.
        #expect(report.exit == .failed)
        #expect(report.message.contains("GONEUSDT signal 1") && report.message.contains("-1121") && report.message.contains("SLOWUSDT"), "\(report.message)")
        #expect(report.message.contains("edge breaker opened"))

        // The outage ends: the rest is labelled or waits; the delisted symbol still fails alone.
        h.exchange.klinesFailures = ["GONEUSDT": .rejected(code: -1121, message: "Invalid symbol.")]
        h.at(minute: 76)
        let again = try await Steps.reconcile(h.ctx)
        #expect(h.exchange.klinesAsked.contains("OTHERUSDT") && again.exit == .failed)
        #expect(try h.db.signalLabels().count == 13)
    }

    /// A delisted symbol: its klines answer -1121, or nothing at all. A day after the horizon that is
    /// final: the signal is labelled `unavailable`, counted apart, and never fetched again; a
    /// temporary error then never decides it.
    @Test func aSignalTheExchangeNeverHasCandlesForIsLabelledUnavailableADayAfterItsHorizonAndNotFetchedAgain() async throws {
        let h = try harness(enabled: true)
        h.at(minute: 1)
        for symbol in ["GONEUSDT", "EMPTYUSDT"] {
            try h.db.storeSignal(candidateId: nil, symbol: symbol, atMs: h.clock.nowMs(), signal: Signal(direction: .long, confidence: 0.8, rationale: "t", model: "scripted"),
                                 referencePrice: 3, chartHashes: [])
        }
        for m in 2...4 { try signal(h, .long, minute: m) }
        h.exchange.klinesFailures = ["GONEUSDT": .rejected(code: -1121, message: "Invalid symbol.")]
        // Within a day of the horizon: not final, both wait (and the -1121 is reported).
        h.at(minute: 75)
        let early = try await Steps.reconcile(h.ctx)
        #expect(early.exit == .failed && early.message.contains("EMPTYUSDT signal 2: not enough candles to label yet"), "\(early.message)")
        #expect(try h.db.signalLabels().map(\.symbol) == ["XRPUSDT", "XRPUSDT", "XRPUSDT"])

        // A day after the horizon the exchange is down or over its limit: never a terminal label.
        let final = TradingHarness.t0 + 61 * 60_000 + TradingCalendar.dayMs
        for temporary: ExchangeError in [.unavailable("GET /fapi/v1/klines: HTTP 503"), .rateLimited(untilMs: final + 60_000), .unknownOutcome("timeout")] {
            h.exchange.klinesFailures = ["GONEUSDT": temporary, "EMPTYUSDT": temporary]
            h.clock.set(final)
            let down = try await Steps.reconcile(h.ctx)
            #expect(down.exit == .tryLater, "\(down.message)")
            #expect(try h.db.signalLabels().count == 3)
        }

        // Then -1121 and an empty answer are final.
        h.exchange.klinesFailures = ["GONEUSDT": .rejected(code: -1121, message: "Invalid symbol.")]
        let settled = try await Steps.reconcile(h.ctx)
        #expect(settled.exit == .ok, "\(settled.message)")
        #expect(settled.message.contains("GONEUSDT signal 1: labelled unavailable") && settled.message.contains("EMPTYUSDT signal 2: labelled unavailable"),
                "\(settled.message)")
        let labels = try h.db.signalLabels()
        #expect(labels.filter { $0.outcome == .unavailable }.map(\.symbol) == ["GONEUSDT", "EMPTYUSDT"])

        // Never fetched again; counted apart from the hit rate and the breaker's sample.
        h.exchange.klinesAsked = []
        h.clock.set(final + 3_600_000)
        let later = try await Steps.reconcile(h.ctx)
        #expect(later.exit == .ok && h.exchange.klinesAsked.isEmpty, "\(later.message) \(h.exchange.klinesAsked)")
        let card = try #require(SignalScorecard.cards(labels).first)
        #expect(card.labelled == 3 && card.decided == 3 && card.unavailable == 2, "\(card)")
        let scorecard = try Steps.scorecard(h.ctx).message
        #expect(scorecard.contains("3 labelled (") && scorecard.contains("2 unavailable (no candles from the exchange, not judged)"), "\(scorecard)")
    }

    @Test func aDamagedStoredCandleIsFetchedAgainAndTheLossBreakerStillOpens() async throws {
        let h = try await longFromMinute5(dip: 30...32) { _ in true }
        let damagedMs = TradingHarness.t0 + 20 * 60_000
        try h.db.write { db in
            try db.execute(sql: "UPDATE candles SET open = 'abc' WHERE symbol = 'XRPUSDT' AND interval = '1m' AND open_time_ms = ?", arguments: [damagedMs])
            // Five losing trades in a row (closed on another symbol).
            for k in 0..<5 {
                try db.execute(sql: """
                    INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms, closed_at_ms,
                        exit_price, exit_reason, realized_pnl, fees, funding)
                    VALUES ('ETHUSDT', 'long', '1', '100', '98', '104', '100', 'closed', ?, ?, '98', 'stop-loss', '-2', '0.1', '0')
                    """, arguments: [TradingHarness.t0 + Int64(k) * 60_000, TradingHarness.t0 + Int64(k) * 60_000 + 30_000])
            }
        }
        #expect(throws: RowDecodingError.self) { try h.db.candles1m(symbol: "XRPUSDT", fromMs: TradingHarness.t0, toMs: h.clock.nowMs()) }

        let report = try await Steps.reconcile(h.ctx)  // before: GRDB trapped on the text price and the process died

        #expect(try h.db.breaker("losses").isOpen(atMs: h.clock.nowMs()))
        let label = try #require(try h.db.signalLabels().first)
        #expect(label.outcome == .miss)
        // Deleted and fetched again: the damaged minute reads, from the exchange's price.
        let candles = try h.db.candles1m(symbol: "XRPUSDT", fromMs: TradingHarness.t0 + 5 * 60_000, toMs: TradingHarness.t0 + 65 * 60_000)
        #expect(candles.count == 60 && candles.first { $0.openTimeMs == damagedMs }?.open == 2.0)
        #expect(report.message.contains("did not read") && report.message.contains("loss breaker opened"), "\(report.message)")
        #expect(try h.db.outbox().contains { $0.payload.contains("deleted the stored candles of XRPUSDT") })
    }

    @Test func storedCandlesThatStopShortOfTheHorizonAreFetchedBeforeTheSignalExpires() async throws {
        // The stop of the long is reached two minutes before its horizon ends (minute 65); scan stored
        // the minutes from the signal up to four minutes before the end, then skipped the symbol.
        let h = try await longFromMinute5(dip: 63...63) { (5...60).contains($0) }
        _ = try await Steps.reconcile(h.ctx)
        // Labelled from the stored candles alone it was "expired" within the 5-minute tolerance.
        let label = try #require(try h.db.signalLabels().first)
        #expect(label.outcome == .miss)
        #expect(h.exchange.klinesAsked == ["XRPUSDT"])
    }

    @Test func aFetchThatDoesNotSpanTheGapOrStartsBeforeTheSignalLabelsNothing() async throws {
        // Stored: minutes 0–20 and 50–89; the dip (30–32) lies in the gap.
        let h = try await longFromMinute5(dip: 30...32) { !(21...49).contains($0) }
        func stored() throws -> Int { try h.db.candles1m(symbol: "XRPUSDT", fromMs: TradingHarness.t0, toMs: h.clock.nowMs()).count }

        // A truncated answer (minutes 5–14) does not reach across the gap: no label over it.
        h.exchange.klinesAnswerLimit = 10
        let short = try await Steps.reconcile(h.ctx)
        #expect(try h.db.signalLabels().isEmpty)
        #expect(short.message.contains("not enough candles"), "\(short.message)")

        // An answer holding candles from before the signal (an endpoint that ignores the start) fails the look-up and stores nothing.
        h.exchange.klinesAnswerLimit = nil
        h.exchange.klinesIgnoreStart = true
        let before = try stored()
        let stray = try await Steps.reconcile(h.ctx)
        #expect(try h.db.signalLabels().isEmpty && stray.exit == .failed)
        #expect(stray.message.contains("the answer holds one opened at \(TradingHarness.t0) ms"), "\(stray.message)")
        #expect(try stored() == before)

        // The whole horizon: labelled from it.
        h.exchange.klinesIgnoreStart = false
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.signalLabels().first?.outcome == .miss)
    }

    @Test func defaultIsOnForLiveAndDemoOffForPaper() {
        var c = GobotConfig()
        #expect(!Steps.edgeBreakerEnabled(c))
        c.exchange.environment = .live
        #expect(Steps.edgeBreakerEnabled(c))
        c.exchange.environment = .demo
        #expect(Steps.edgeBreakerEnabled(c))
        c.risk.edgeBreaker.enabled = false
        #expect(!Steps.edgeBreakerEnabled(c))
    }

    @Test func aLosingRecordStopsEntriesAndARecoveredOneResumesThem() async throws {
        let h = try harness(enabled: true)
        // 12 shorts before the rise: every one reaches its stop first.
        for m in 1...12 { try signal(h, .short, minute: m) }
        h.at(minute: 30)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.signalLabels().isEmpty)  // horizon not over: nothing judged from the future

        h.at(minute: 75)
        _ = try await Steps.reconcile(h.ctx)
        let labels = try h.db.signalLabels()
        #expect(labels.count == 12 && labels.allSatisfy { $0.outcome == .miss })
        let b = try h.db.breaker("edge")
        #expect(b.isOpen(atMs: h.clock.nowMs()) && b.reason.contains("below the 35.0 % break-even"))
        #expect(try h.db.auditEntries().contains { $0.action == "breaker_open" && $0.detail.hasPrefix("edge:") })
        #expect(try h.db.outbox().contains { $0.payload.contains("edge breaker") })
        #expect(try Steps.status(h.ctx, json: false).message.contains("edge:"))

        // A confident signal now is rejected by the gate.
        try signal(h, .long, minute: 75)
        _ = try await Steps.trade(h.ctx)
        let last = try #require(try h.db.signals().last)
        #expect(last.status == "rejected" && (last.decision ?? "").contains("edge"))
        #expect(try h.db.livePositions().isEmpty)

        // Labelling goes on: longs before the second rise all reach their target.
        for m in 80...95 { try signal(h, .long, minute: m) }
        h.at(minute: 160)
        _ = try await Steps.reconcile(h.ctx)
        let after = try h.db.signalLabels()
        #expect(after.filter { $0.outcome == .hit }.count == 17)
        #expect(!(try h.db.breaker("edge").isOpen(atMs: h.clock.nowMs())))
        #expect(try h.db.auditEntries().contains { $0.action == "breaker_close" })
        let card = try Steps.scorecard(h.ctx).message
        #expect(card.contains("scripted: 29 labelled (17 hit, 12 miss, 0 expired)") && card.contains("edge breaker: enabled"))
        let json = try Steps.status(h.ctx, json: true).message
        #expect(json.contains("\"scorecard\"") && json.contains("\"hits\" : 17"))
    }

    @Test func offOnPaperByDefaultButLabelsStillCount() async throws {
        let h = try harness(enabled: nil)
        for m in 1...12 { try signal(h, .short, minute: m) }
        h.at(minute: 75)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.signalLabels().count == 12)
        #expect(!(try h.db.breaker("edge").isOpen(atMs: h.clock.nowMs())))
    }

    @Test func theScorecardBreaksTheHitRateDownByTheAnswersTimeframeAgreement() async throws {
        let h = try harness(enabled: false)
        func store(_ d: Direction, minute: Int, _ agreement: TimeframeAgreement?) throws {
            h.at(minute: minute)
            try h.db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: h.clock.nowMs(),
                                 signal: Signal(direction: d, confidence: 0.8, rationale: "t", model: "vision", timeframeAgreement: agreement),
                                 referencePrice: Self.prices[minute], chartHashes: [])
        }
        // Before the rise: aligned longs reach the target, mixed shorts their stop; one signal states nothing.
        for m in 1...4 { try store(.long, minute: m, .aligned) }
        for m in 5...7 { try store(.short, minute: m, .mixed) }
        try store(.long, minute: 8, nil)
        #expect(try h.db.signals().map(\.signal.timeframeAgreement) == [.aligned, .aligned, .aligned, .aligned, .mixed, .mixed, .mixed, nil])
        h.at(minute: 75)
        _ = try await Steps.reconcile(h.ctx)
        let labels = try h.db.signalLabels()
        #expect(labels.count == 8)
        #expect(labels.filter { $0.timeframeAgreement == .aligned }.allSatisfy { $0.outcome == .hit })
        #expect(labels.filter { $0.timeframeAgreement == .mixed }.allSatisfy { $0.outcome == .miss })
        let card = try Steps.scorecard(h.ctx).message
        #expect(card.contains("by timeframe agreement (hits/decided): aligned 4/4"), "\(card)")
        #expect(card.contains("mixed 0/3") && card.contains("not stated 1/1"))
        #expect(!card.contains("conflicting"))
        let json = try Steps.status(h.ctx, json: true).message
        #expect(json.contains("\"byTimeframeAgreement\"") && json.contains("\"agreement\" : \"mixed\""))
    }
}
