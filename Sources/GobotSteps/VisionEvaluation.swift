import Analysts
import Foundation
import GobotCore
import GobotHTTP
import GobotStore

/// `gobot evaluate --analyst vision --sample K`: the vision analyst asked at K decision points
/// only, at a cost known before the first request (docs/EVALUATION.md, "The vision analyst at a
/// bounded cost"). Answers go through the same cache as the backtest, so a repeated or
/// interrupted run asks only what it has not got yet.
public enum VisionEvaluation {
    public struct Point: Sendable, Hashable {
        public var symbol: String
        public var atMs: Int64
    }

    public struct Options: Sendable {
        public var sample: Int
        public var seed: UInt64
        /// `--budget`: the one budget for the whole run; nil means `analyst.daily_budget_usd`.
        public var budgetUSD: Decimal?
        /// The spend bucket of this run (one budget per run, not per simulated day).
        public var runId: String
        public var edge = EdgeEvaluation.Options()
        public var cadenceMs: Int64 = 300_000

        public init(sample: Int, seed: UInt64, budgetUSD: Decimal? = nil, runId: String) {
            self.sample = sample
            self.seed = seed
            self.budgetUSD = budgetUSD
            self.runId = runId
        }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case tooManyPoints(asked: Int, available: Int)
        case overBudget(estimateUSD: Decimal, budgetUSD: Decimal, fromFlag: Bool)

        public var description: String {
            switch self {
            case .tooManyPoints(let k, let n):
                "--sample \(k) is more than the \(n) decision times (one per 5 minutes) with a full label horizon in the data; use a smaller --sample or a longer range"
            case .overBudget(let e, let b, false):
                "the estimated cost \(e.plainString) USD exceeds analyst.daily_budget_usd \(b.plainString) USD; nothing was asked. "
                    + "Pass --budget \(e.plainString) (or more) to allow it for this run, or use a smaller --sample"
            case .overBudget(let e, let b, true):
                "--budget \(b.plainString) USD does not cover the estimated \(e.plainString) USD; nothing was asked. Raise --budget or use a smaller --sample"
            }
        }
    }

    // MARK: sampling and charts

    /// K decision points stratified over time and symbols: the decision times that leave a full
    /// label horizon before the data ends are cut into K equal strata, one point is drawn in each,
    /// and the symbols take turns in a seeded order — so every part of the range and every symbol
    /// gets its share. Same market, K and seed: the same points.
    public static func sample(market m: Evaluation.Market, k: Int, seed: UInt64, horizonMs: Int64, cadenceMs: Int64 = 300_000) throws -> [Point] {
        let symbols = m.series.keys.sorted()
        let first = m.rangeMs.from, last = m.rangeMs.to - horizonMs
        let times = last >= first ? Int((last - first) / cadenceMs) + 1 : 0
        guard k >= 1, k <= times, !symbols.isEmpty else { throw Failure.tooManyPoints(asked: k, available: times) }
        var rng = SeededRandom.stream(seed, 7)
        var order = symbols
        order.shuffle(using: &rng)
        return (0..<k).map { i in
            let lo = times * i / k, hi = times * (i + 1) / k
            let slot = lo + Int(rng.next() % UInt64(max(1, hi - lo)))
            return Point(symbol: order[i % order.count], atMs: first + Int64(slot) * cadenceMs)
        }
    }

    /// The three timeframes at `atMs` from 1m candles, with only candles CLOSED by then (open time
    /// plus length at or before `atMs`), at most `limit` each — what `analyze` would have had.
    public static func chartSet(_ m1: [Candle], symbol: String, atMs: Int64, limit: Int = ChartSet.chartCandles) -> ChartSet {
        let from = (atMs - Int64(limit + 2) * Interval.m15.ms) / Interval.m15.ms * Interval.m15.ms
        var lo = 0, hi = m1.count
        while lo < hi { let mid = (lo + hi) / 2; if m1[mid].openTimeMs < from { lo = mid + 1 } else { hi = mid } }
        var closed: [Candle] = []
        var i = lo
        while i < m1.count && m1[i].openTimeMs + Interval.m1.ms <= atMs { closed.append(m1[i]); i += 1 }
        func frame(_ interval: Interval) -> [Candle] {
            Array(CandleResampler.resample(closed, to: interval).filter { $0.openTimeMs + interval.ms <= atMs }.suffix(limit))
        }
        return ChartSet(symbol: symbol, m1: Array(closed.suffix(limit)), m5: frame(.m5), m15: frame(.m15))
    }

    // MARK: the run

    public struct Answered: Sendable {
        public var point: Point
        public var vision: Signal
        public var rules: Signal
        public var reference: Double
        public var fromCache: Bool
        /// A refusal, a cut-off answer or one off the schema (paid, not cached, counted as no call).
        public var unusable: Bool { vision.timeframeAgreement == nil }
    }

    public struct Plan: Sendable {
        public var points: [Point]
        public var charts: [ChartSet]
        public var pngs: [[[UInt8]]]
        public var cached: [Bool]
        public var perRequest: VisionAnalyst.RequestEstimate?
        public var estimateUSD: Decimal
        public var budgetUSD: Decimal
        public var budgetFromFlag: Bool
        public var toAsk: Int { cached.filter { !$0 }.count }

        /// How the estimate was made, printed before the first request.
        public var lines: [String] {
            var out = ["vision evaluation: \(points.count) decision points over \(Set(points.map(\.symbol)).count) symbols; "
                       + "\(points.count - toAsk) already answered (cached, free), \(toAsk) to ask"]
            if let e = perRequest {
                out.append("cost estimate: \(toAsk) requests × (\(e.inputTokens) input tokens = \(e.imageTokens.map(String.init).joined(separator: " + ")) "
                           + "for the three charts by OpenAI's image rule + \(e.textTokens) text tokens at 4 characters a token; "
                           + "\(e.outputTokens) output tokens = the max_completion_tokens limit, an upper bound) at the configured prices "
                           + "(analyst.input/output_usd_per_million_tokens) = \(estimateUSD.plainString) USD")
            }
            out.append("budget for the whole run: \(budgetUSD.plainString) USD (" + (budgetFromFlag ? "--budget" : "analyst.daily_budget_usd")
                       + "); asking stops when it is spent, and a later run resumes from the cache")
            return out
        }
    }

    public struct Outcome: Sendable {
        public var plan: Plan
        public var answered: [Answered]
        /// Requests sent (cache misses), what they cost as reported by the server.
        public var requests: Int
        public var costUSD: Double
        /// Why asking stopped before every point was answered (nil: complete).
        public var stopped: String?
        public var vision: Evaluation.Outcome
        public var rules: Evaluation.Outcome
        public var visionCards: [SignalScorecard.Card]
        public var rulesCards: [SignalScorecard.Card]
        /// Points the engine did not ask about (a position open, cooldown, limits used up).
        public var notAskedByEngine: Int
        public var text: String
        public var complete: Bool { stopped == nil }
    }

    /// Samples, renders, checks the cache and estimates the cost; asks nothing.
    public static func plan(market m: Evaluation.Market, analyst: VisionAnalyst, options: Options) throws -> Plan {
        let c = m.config
        let points = try sample(market: m, k: options.sample, seed: options.seed, horizonMs: Int64(c.risk.edgeBreaker.horizonHours) * 3_600_000,
                                cadenceMs: options.cadenceMs)
        let charts = points.map { chartSet(m.series[$0.symbol] ?? [], symbol: $0.symbol, atMs: $0.atMs) }
        let pngs = ParallelMap.map(charts.count) { ChartOutput.render(charts[$0]) }
        let cached = try zip(charts, pngs).map { try analyst.isCached($0, pngs: $1) }
        var estimate: Decimal = 0
        var perRequest: VisionAnalyst.RequestEstimate?
        for i in points.indices where !cached[i] {
            let e = analyst.estimate(charts[i], pngs: pngs[i])
            estimate += e.usd
            perRequest = perRequest ?? e
        }
        return Plan(points: points, charts: charts, pngs: pngs, cached: cached, perRequest: perRequest, estimateUSD: estimate,
                    budgetUSD: options.budgetUSD ?? c.analyst.dailyBudgetUSD, budgetFromFlag: options.budgetUSD != nil)
    }

    /// The vision analyst for a run: the configured endpoint, with the run's one budget.
    public static func analyst(config: GobotConfig, apiKey: String, transport: any HTTPTransport, ledger: any AnalystLedger, options: Options,
                               sleep: (@Sendable (Int64) async -> Void)? = nil) -> VisionAnalyst {
        let a = config.analyst
        let settings = VisionAnalyst.Settings(baseURL: a.baseURL, model: a.model, detail: a.detail, apiKey: apiKey, apiKeyHeader: a.apiKeyHeader,
                                              dailyBudgetUSD: options.budgetUSD ?? a.dailyBudgetUSD, inputUSDPerMillion: a.inputUSDPerMillionTokens,
                                              outputUSDPerMillion: a.outputUSDPerMillionTokens, maxRetries: a.maxRetries,
                                              requireTimeframeAgreement: a.requireTimeframeAgreement, budgetPeriod: "evaluate-\(options.runId)")
        if let sleep { return VisionAnalyst(settings: settings, transport: transport, ledger: ledger, sleep: sleep) }
        return VisionAnalyst(settings: settings, transport: transport, ledger: ledger)
    }

    /// The analyst over HTTPS with the cache and spend in the state database (the backtest's cache).
    public static func analyst(config: GobotConfig, apiKey: String, db: GobotDatabase, options: Options) -> VisionAnalyst {
        analyst(config: config, apiKey: apiKey, transport: URLSessionTransport(timeoutSeconds: config.analyst.timeoutSeconds),
                ledger: DatabaseAnalystLedger(db: db), options: options)
    }

    /// Plans, refuses when the estimate exceeds the budget, asks the points not cached yet (in time
    /// order, stopping when the budget is spent or the endpoint fails), and reports on the answered points.
    /// - Parameter log: receives the plan's lines before the first request.
    public static func run(market m: Evaluation.Market, analyst: VisionAnalyst, options: Options,
                           log: (String) -> Void = { _ in }) async throws -> Outcome {
        let plan = try plan(market: m, analyst: analyst, options: options)
        plan.lines.forEach(log)
        if plan.estimateUSD > plan.budgetUSD {
            throw Failure.overBudget(estimateUSD: plan.estimateUSD, budgetUSD: plan.budgetUSD, fromFlag: plan.budgetFromFlag)
        }
        var answered: [Answered] = [], requests = 0, cost = 0.0, stopped: String?
        let order = plan.points.indices.sorted { (plan.points[$0].atMs, plan.points[$0].symbol) < (plan.points[$1].atMs, plan.points[$1].symbol) }
        for i in order {
            let p = plan.points[i], set = plan.charts[i]
            let signal: Signal
            do {
                signal = try await analyst.analyze(set, pngs: plan.pngs[i], nowMs: p.atMs)
            } catch let error as VisionError {
                stopped = "\(error)"
                break
            }
            if !plan.cached[i] { requests += 1; cost += signal.costUSD }
            let rules = RulesAnalyst.analyze(m1: set.m1, m5: set.m5, m15: set.m15)
            answered.append(Answered(point: p, vision: signal, rules: rules, reference: set.m1.last?.close ?? 0, fromCache: plan.cached[i]))
        }
        return report(market: m, plan: plan, answered: answered, requests: requests, costUSD: cost, stopped: stopped, options: options)
    }

    // MARK: the report

    /// Labels for the answered points' calls (target before stop within the horizon, the scorecard's rule).
    static func labels(_ answered: [Answered], pick: (Answered) -> Signal, market m: Evaluation.Market) -> [SignalLabel] {
        let c = m.config, horizon = Int64(c.risk.edgeBreaker.horizonHours) * 3_600_000
        return answered.enumerated().compactMap { k, a in
            let s = pick(a)
            let candles = m.series[a.point.symbol] ?? []
            guard let end = candles.last.map({ $0.openTimeMs + 60_000 }),
                  let v = SignalScorecard.label(direction: s.direction, atMs: a.point.atMs, reference: a.reference,
                                                after: candles.filter { $0.openTimeMs >= a.point.atMs && $0.openTimeMs < a.point.atMs + horizon }, nowMs: end,
                                                stopPercent: c.trading.stopLossPercent.doubleValue, targetPercent: c.trading.takeProfitPercent.doubleValue,
                                                feeRate: c.exchange.takerFeeRate.doubleValue, horizonMs: horizon) else { return nil }
            return SignalLabel(signalId: Int64(k), symbol: a.point.symbol, model: s.model, direction: s.direction, confidence: s.confidence,
                               signalAtMs: a.point.atMs, outcome: v.outcome, r: v.r, costUSD: s.costUSD, timeframeAgreement: s.timeframeAgreement)
        }
    }

    final class Asked: @unchecked Sendable { var points = Set<Point>() }

    static func report(market m: Evaluation.Market, plan: Plan, answered: [Answered], requests: Int, costUSD: Double, stopped: String?,
                       options: Options) -> Outcome {
        let vision = Dictionary(answered.map { ($0.point, $0.vision) }, uniquingKeysWith: { a, _ in a })
        let sampled = Set(answered.map(\.point))
        let none = Signal(direction: .none, confidence: 0, rationale: "", model: "")
        let asked = Asked()
        let visionRun = Evaluation.run(market: m, edge: options.edge, title: "vision analyst at the \(answered.count) answered points (in-memory engine, with the gate)") { symbol, atMs, _ in
            let p = Point(symbol: symbol, atMs: atMs)
            guard let s = vision[p] else { return none }
            asked.points.insert(p)
            return s
        }
        let rulesRun = Evaluation.run(market: m, edge: options.edge, title: "rules analyst at the same points (in-memory engine, with the gate)") {
            sampled.contains(Point(symbol: $0, atMs: $1)) ? $2 : none
        }
        let visionCards = SignalScorecard.cards(labels(answered, pick: \.vision, market: m))
        let rulesCards = SignalScorecard.cards(labels(answered, pick: \.rules, market: m))
        let breakEven = Steps.breakEvenHitRate(m.config)

        var out = plan.lines
        let unusable = answered.filter(\.unusable).count
        out.append("asked \(requests) (cost \(String(format: "%.6f", costUSD)) USD as reported by the server), \(answered.filter(\.fromCache).count) from the cache; "
                   + "\(answered.count) of \(plan.points.count) points answered, \(unusable) unusable (refused, cut off or off the schema: no call)")
        if let stopped {
            out.append("INCOMPLETE: asking stopped after \(answered.count) of \(plan.points.count) points: \(stopped). "
                       + "Run the same command again (with a --budget that covers the rest) to resume: answered points come from the cache.")
        }
        func calls(_ pick: (Answered) -> Signal) -> String {
            let d = answered.map { pick($0).direction }
            return "\(d.filter { $0 == .long }.count) long, \(d.filter { $0 == .short }.count) short, \(d.filter { $0 == .none }.count) none"
        }
        out.append("")
        out.append("direction scorecard at the same \(answered.count) points (label: target before stop within \(m.config.risk.edgeBreaker.horizonHours) h):")
        out.append("  vision calls: \(calls(\.vision)); rules calls: \(calls(\.rules))")
        out += SignalScorecard.render(visionCards + rulesCards, breakEven: breakEven).map { "  " + $0 }
        out.append("")
        out.append(visionRun.text)
        out.append("  (\(asked.points.count) of \(answered.count) answered points reached the gate; the other \(answered.count - asked.points.count) "
                   + "came while a position, a cooldown or a limit blocked the symbol)")
        out.append("")
        out.append(rulesRun.text)
        out.append("")
        out.append("vision analyst, \(answered.count) of \(plan.points.count) points" + (stopped == nil ? "" : " (INCOMPLETE)") + ": \(visionRun.report.whole.verdict)")
        return Outcome(plan: plan, answered: answered, requests: requests, costUSD: costUSD, stopped: stopped, vision: visionRun, rules: rulesRun,
                       visionCards: visionCards, rulesCards: rulesCards, notAskedByEngine: answered.count - asked.points.count,
                       text: out.joined(separator: "\n"))
    }
}
