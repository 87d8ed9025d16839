import Foundation
import Testing
@testable import GobotCore

@Suite struct RiskGateTests {
    /// XRPUSDT's real filters from exchangeInfo: tick 0.0001, step 0.1, min notional 5.
    let xrp = SymbolRules(symbol: "XRPUSDT", tickSize: Decimal(string: "0.0001")!, stepSize: Decimal(string: "0.1")!,
                          minQty: Decimal(string: "0.1")!, minNotional: 5)
    let btc = SymbolRules(symbol: "BTCUSDT", tickSize: Decimal(string: "0.1")!, stepSize: Decimal(string: "0.001")!,
                          minQty: Decimal(string: "0.001")!, minNotional: 100)
    let now: Int64 = 1_747_740_000_000
    let long = Signal(direction: .long, confidence: 0.8, rationale: "", model: "t")

    func evaluate(_ signal: Signal? = nil, state: RiskState? = nil, rules: SymbolRules? = nil, price: Decimal = Decimal(string: "2.3456")!,
                  config: GobotConfig = GobotConfig()) -> Result<EntryPlan, RiskRejection> {
        let r = rules ?? xrp
        return RiskGate.evaluate(symbol: r.symbol, signal: signal ?? long, price: price, rules: r,
                                 state: state ?? RiskState(nowMs: now), config: config, closedTrades: 0, wins: 0)
    }

    @Test func approvedEntryIsSizedCappedAndRounded() throws {
        let plan = try evaluate().get()
        // $10 cap / 2.3456 = 4.263 → floored to the 0.1 step.
        #expect(plan.quantity == Decimal(string: "4.2")!)
        #expect(plan.notionalUSD <= 10)
        #expect(plan.stopPrice == Decimal(string: "2.2987")!)   // 2.298688 rounded toward the entry
        #expect(plan.targetPrice == Decimal(string: "2.4395")!) // 2.439424 rounded away from it
        #expect(plan.rewardRisk >= 2)
    }

    @Test func shortStopIsAboveAndTargetBelow() throws {
        let plan = try evaluate(Signal(direction: .short, confidence: 0.9, rationale: "", model: "t")).get()
        #expect(plan.stopPrice > plan.referencePrice && plan.targetPrice < plan.referencePrice)
    }

    @Test func everyRejectionReason() {
        var lowRR = GobotConfig()
        lowRR.trading.takeProfitPercent = 3
        let cases: [(Result<EntryPlan, RiskRejection>, String)] = [
            (evaluate(Signal(direction: .none, confidence: 0.9, rationale: "", model: "t")), "no_direction"),
            (evaluate(Signal(direction: .long, confidence: 0.7, rationale: "", model: "t")), "low_confidence"),
            (evaluate(config: lowRR), "reward_risk"),
            (evaluate(state: RiskState(nowMs: now, tradesToday: 3)), "trades_per_day"),
            (evaluate(state: RiskState(nowMs: now, pnlTodayUSD: -30)), "daily_loss"),
            (evaluate(state: RiskState(nowMs: now, pnlWeekUSD: -50.5)), "weekly_loss"),
            (evaluate(state: RiskState(nowMs: now, exposureTodayUSD: 25)), "daily_exposure"),
            (evaluate(state: RiskState(nowMs: now, lastEntryOnSymbolMs: now - 60 * 60_000)), "cooldown"),
            (evaluate(state: RiskState(nowMs: now, openPositions: 1)), "max_open_positions"),
            (evaluate(state: RiskState(nowMs: now, symbolHasPosition: true)), "position_exists"),
            (evaluate(state: RiskState(nowMs: now, openBreakers: ["losses"])), "breaker_open"),
            (evaluate(state: RiskState(nowMs: now, halted: true)), "halted"),
            (evaluate(rules: btc, price: 105_000), "below_min_notional"),
        ]
        for (result, code) in cases {
            guard case .failure(let rejection) = result else { Issue.record("expected \(code), got approval"); continue }
            #expect(rejection.code == code)
        }
    }

    @Test func belowMinimumNamesTheSymbolMinimumAndTheCap() {
        guard case .failure(let r) = evaluate(rules: btc, price: 105_000) else { Issue.record("approved"); return }
        #expect(r.description == "BTCUSDT needs at least 100 USD notional (min qty 0.001 at 105000), more than the configured max position of 10 USD")
    }

    @Test func cooldownSaysHowLongIsLeft() {
        guard case .failure(let r) = evaluate(state: RiskState(nowMs: now, lastEntryOnSymbolMs: now - 60 * 60_000)) else { return }
        #expect(r == .cooldown(symbol: "XRPUSDT", minutesLeft: 120))
    }

    @Test func kellyUsesThePriorWhileHistoryIsShortAndRejectsALosingEdge() {
        #expect(abs(KellySizer.winRate(closedTrades: 0, wins: 0, prior: 0.45, priorTrades: 20) - 0.45) < 1e-12)
        #expect(abs(KellySizer.winRate(closedTrades: 20, wins: 20, prior: 0.45, priorTrades: 20) - 0.725) < 1e-12)
        let r = RiskGate.evaluate(symbol: "XRPUSDT", signal: long, price: 2, rules: xrp, state: RiskState(nowMs: now),
                                  config: GobotConfig(), closedTrades: 100, wins: 5)
        guard case .failure(.kellyNotPositive) = r else { Issue.record("expected a Kelly rejection, got \(r)"); return }
    }

    @Test func wilsonIntervalMatchesTheTextbookValue() {
        let w = Statistics.wilson(successes: 8, trials: 10)
        #expect(abs(w.low - 0.4902) < 0.0005 && abs(w.high - 0.9433) < 0.0005)
    }

    @Test func clientOrderIdsAreDeterministicAndValid() {
        #expect(ClientOrderId.make(signalId: 42, purpose: .entry) == "gb-42-E")
        #expect(ClientOrderId.make(signalId: 42, purpose: .stop, attempt: 2) == "gb-42-SL-2")
        #expect(ClientOrderId.isValid(ClientOrderId.make(signalId: Int64.max, purpose: .takeProfit, attempt: 99)))
    }
}

extension RiskGateTests {
    func state(freeMB: Int64? = nil, skewMs: Int64? = nil) -> RiskState {
        var s = RiskState(nowMs: now)
        s.stateFreeMB = freeMB
        s.clockSkewMs = skewMs
        return s
    }

    func code(_ r: Result<EntryPlan, RiskRejection>) -> String {
        switch r {
        case .success: "approved"
        case .failure(let e): e.code
        }
    }

    @Test func lowFreeSpaceOnTheStateFilesystemRefusesTheEntry() {
        #expect(code(evaluate(state: state(freeMB: 49))) == "low_disk_space")
        #expect(code(evaluate(state: state(freeMB: 50))) == "approved")
        #expect(code(evaluate(state: state(freeMB: nil))) == "approved")  // not measured (backtest)
        var strict = GobotConfig()
        strict.state.minFreeMB = 500
        guard case .failure(let r) = evaluate(state: state(freeMB: 120), config: strict) else { Issue.record("must refuse"); return }
        #expect(r == .lowDiskSpace(freeMB: 120, minimumMB: 500))
        #expect(r.description.contains("only 120 MB free on the state filesystem, below state.min_free_mb 500"))
    }

    @Test func clockSkewBeyondTheLimitRefusesTheEntryEitherWay() {
        #expect(code(evaluate(state: state(skewMs: 1001))) == "clock_skew")
        #expect(code(evaluate(state: state(skewMs: -3_600_000))) == "clock_skew")
        #expect(code(evaluate(state: state(skewMs: -1000))) == "approved")
        #expect(code(evaluate(state: state(skewMs: 250))) == "approved")
        guard case .failure(let r) = evaluate(state: state(skewMs: -3_600_000)) else { Issue.record("must refuse"); return }
        #expect(r.description.contains("the host clock is 3600000 ms ahead of the exchange, beyond execution.max_clock_skew_ms 1000"))
        var loose = GobotConfig()
        loose.execution.maxClockSkewMs = 5000
        #expect(code(evaluate(state: state(skewMs: 4000), config: loose)) == "approved")
    }

    /// Review finding M2: a slow `/time` proves no skew, but signed timestamps then lag the
    /// exchange by up to the round trip; past half the recvWindow the stop could come back -1021.
    @Test func aClockMeasuredOnlyLooselyRefusesTheEntry() {
        var s = state(skewMs: 0)
        s.clockRoundTripMs = 2_600
        guard case .failure(let r) = evaluate(state: s) else { Issue.record("must refuse"); return }
        #expect(r == .clockUncertain(roundTripMs: 2_600, recvWindowMs: 5000))
        #expect(r.description.contains("only measured to within 2600 ms"))
        s.clockRoundTripMs = 2_500
        #expect(code(evaluate(state: s)) == "approved")
        var wide = GobotConfig()
        wide.exchange.recvWindowMs = 10_000
        s.clockRoundTripMs = 4_000
        #expect(code(evaluate(state: s, config: wide)) == "approved")
    }
}
