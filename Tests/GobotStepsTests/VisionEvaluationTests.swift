import Analysts
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import Testing
@testable import GobotSteps

/// `gobot evaluate --analyst vision --sample K` on the bundled week, against the loopback scripted
/// OpenAI-compatible server answering with a known accuracy.
@Suite(.serialized) struct VisionEvaluationTests {
    static func market(_ tweak: (inout GobotConfig) -> Void = { _ in }) throws -> Evaluation.Market {
        try EvaluationTests.market {
            // Tight stop and target and a 4-hour horizon: most calls decide within the week.
            $0.trading.stopLossPercent = Decimal(string: "0.5")!
            $0.trading.takeProfitPercent = 1
            $0.risk.edgeBreaker.horizonHours = 4
            tweak(&$0)
        }
    }

    static func completion(_ direction: String, confidence: Double, prompt: Int, completion: Int) -> String {
        let content = #"{"direction":"\#(direction)","confidence":\#(confidence),"timeframe_agreement":"aligned","reasoning":"scripted"}"#
        let escaped = String(data: try! JSONSerialization.data(withJSONObject: [content]), encoding: .utf8)!.dropFirst().dropLast()
        return #"{"id":"c","object":"chat.completion","created":1,"model":"scripted-vision","choices":[{"index":0,"message":{"role":"assistant","content":"#
            + escaped + #","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":1}}"#
    }

    /// The true direction at each point (the side whose target comes before its stop), keyed by the
    /// request's 1m chart, and whether the server tells the truth for it: 7 in every 10 of the points
    /// that have a true direction, in time order.
    struct Truth: Sendable {
        var direction: Direction
        var honest: Bool
    }

    static func truths(_ m: Evaluation.Market, points: [VisionEvaluation.Point]) -> [String: Truth] {
        var out: [String: Truth] = [:], decided = 0
        let c = m.config, horizon = Int64(c.risk.edgeBreaker.horizonHours) * 3_600_000
        for p in points.sorted(by: { $0.atMs < $1.atMs }) {
            let set = VisionEvaluation.chartSet(m.series[p.symbol]!, symbol: p.symbol, atMs: p.atMs)
            let url = "data:image/png;base64,\(Data(ChartOutput.render(set)[0]).base64EncodedString())"
            let after = m.series[p.symbol]!.filter { $0.openTimeMs >= p.atMs }
            func outcome(_ d: Direction) -> SignalLabel.Outcome? {
                SignalScorecard.label(direction: d, atMs: p.atMs, reference: set.m1.last!.close, after: after, nowMs: .max / 2,
                                      stopPercent: c.trading.stopLossPercent.doubleValue, targetPercent: c.trading.takeProfitPercent.doubleValue,
                                      feeRate: c.exchange.takerFeeRate.doubleValue, horizonMs: horizon)?.outcome
            }
            let truth: Direction = outcome(.long) == .hit ? .long : (outcome(.short) == .hit ? .short : .none)
            out[url] = Truth(direction: truth, honest: truth == .none || decided % 10 < 7)
            if truth != .none { decided += 1 }
        }
        return out
    }

    /// Answers the truth (confidence 0.9) for honest charts, the opposite (confidence 0.65) for the
    /// others, and "none" where neither side reaches its target.
    static func respond(_ truths: [String: Truth], prompt: Int = 1000, completion: Int = 100) -> @Sendable (ScriptedServer.Received) -> ScriptedServer.Reply? {
        { r in
            guard let body = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
                  let user = (body["messages"] as? [[String: Any]])?.last, let content = user["content"] as? [[String: Any]],
                  let image = content.dropFirst().first?["image_url"] as? [String: Any], let url = image["url"] as? String,
                  let t = truths[url] else { return .json(400, #"{"error":{"message":"unknown chart"}}"#) }
            let said: String = switch (t.direction, t.honest) {
            case (.none, _): "none"
            case (.long, true), (.short, false): "long"
            case (.short, true), (.long, false): "short"
            }
            return .json(200, Self.completion(said, confidence: t.honest ? 0.9 : 0.65, prompt: prompt, completion: completion))
        }
    }

    struct Setup {
        let server: ScriptedServer
        let url: String
        let db: GobotDatabase
    }

    func setUp() async throws -> Setup {
        let server = try ScriptedServer()
        let url = try await server.start()
        return Setup(server: server, url: url, db: try GobotDatabase.inMemory())
    }

    func analyst(_ s: Setup, _ m: Evaluation.Market, _ options: VisionEvaluation.Options) -> VisionAnalyst {
        var c = m.config
        c.analyst.baseURL = s.url
        return VisionEvaluation.analyst(config: c, apiKey: "sk-test-key-not-real-0000",
                                        transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds),
                                        ledger: DatabaseAnalystLedger(db: s.db), options: options, sleep: { _ in })
    }

    func options(_ k: Int, run: String, budget: Decimal? = nil) -> VisionEvaluation.Options {
        var o = VisionEvaluation.Options(sample: k, seed: 42, budgetUSD: budget, runId: run)
        o.edge = EdgeEvaluation.Options(seeds: 100, folds: 2)
        return o
    }

    @Test func theChartsHoldOnlyCandlesClosedAtTheDecisionTime() throws {
        let m = try Self.market()
        let points = try VisionEvaluation.sample(market: m, k: 20, seed: 1, horizonMs: 4 * 3_600_000)
        for p in points {
            let series = m.series[p.symbol]!
            let set = VisionEvaluation.chartSet(series, symbol: p.symbol, atMs: p.atMs)
            for (candles, interval) in [(set.m1, Interval.m1), (set.m5, .m5), (set.m15, .m15)] {
                // As many as analyze would get: 120, or all that closed since the data began.
                let available = CandleResampler.resample(series, to: interval).filter { $0.openTimeMs + interval.ms <= p.atMs }.count
                #expect(candles.count == min(120, available) && !candles.isEmpty)
                // No candle at or after the decision time, and none still open at it.
                #expect(candles.allSatisfy { $0.openTimeMs + interval.ms <= p.atMs })
                // The last one is the newest closed.
                #expect(candles.last!.openTimeMs == p.atMs / interval.ms * interval.ms - interval.ms)
            }
            // Poisoning every candle from the decision time on changes neither the input nor the charts.
            let poisoned = series.map { c -> Candle in
                guard c.openTimeMs >= p.atMs else { return c }
                return Candle(openTimeMs: c.openTimeMs, open: c.open * 3, high: c.high * 5, low: c.low / 5, close: c.close * 4, volume: c.volume * 9)
            }
            let again = VisionEvaluation.chartSet(poisoned, symbol: p.symbol, atMs: p.atMs)
            #expect(again.m1 == set.m1 && again.m5 == set.m5 && again.m15 == set.m15)
            if p == points[0] { #expect(ChartOutput.render(again) == ChartOutput.render(set)) }
        }
    }

    @Test func thePointsAreStratifiedOverTimeAndSymbolsAndReproducible() throws {
        let m = try Self.market()
        let horizon: Int64 = 4 * 3_600_000
        let a = try VisionEvaluation.sample(market: m, k: 36, seed: 7, horizonMs: horizon)
        #expect(a == (try VisionEvaluation.sample(market: m, k: 36, seed: 7, horizonMs: horizon)))
        #expect(a != (try VisionEvaluation.sample(market: m, k: 36, seed: 8, horizonMs: horizon)))
        #expect(Set(a).count == 36)
        let first = m.rangeMs.from, last = m.rangeMs.to - horizon
        let times = Int((last - first) / 300_000) + 1
        for (i, p) in a.enumerated() {
            // One point in each of 36 equal strata of the decision times, on the 5-minute grid.
            let slot = Int((p.atMs - first) / 300_000)
            #expect(p.atMs % 300_000 == 0 && slot >= times * i / 36 && slot < times * (i + 1) / 36)
        }
        let perSymbol = Dictionary(grouping: a, by: \.symbol).mapValues(\.count)
        #expect(perSymbol.count == m.series.count)
        #expect(perSymbol.values.max()! - perSymbol.values.min()! <= 1)
        #expect(throws: VisionEvaluation.Failure.self) { try VisionEvaluation.sample(market: m, k: times + 1, seed: 7, horizonMs: horizon) }
    }

    @Test func aKnownAccuracyIsMeasuredAndARepeatedRunPaysNothing() async throws {
        let m = try Self.market()
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        let k = 60
        let o = options(k, run: "first")
        let points = try VisionEvaluation.sample(market: m, k: k, seed: o.seed, horizonMs: 4 * 3_600_000)
        let truths = Self.truths(m, points: points)
        await s.server.setResponder(Self.respond(truths))

        var logged: [String] = []
        let first = try await VisionEvaluation.run(market: m, analyst: analyst(s, m, o), options: o) { logged.append($0) }
        // The estimate is printed before the first request and says how it was made.
        #expect(logged.contains { $0.hasPrefix("cost estimate: \(k) requests") && $0.contains("max_completion_tokens") && $0.contains("image rule") })
        #expect(first.complete && first.answered.count == k)
        #expect(await s.server.received.count == k && first.requests == k)
        #expect(abs(first.costUSD - Double(k) * 0.00021) < 1e-9)  // 1000 × 0.15 + 100 × 0.60 per million, per request
        #expect(first.plan.estimateUSD > Decimal(first.costUSD))  // the estimate is an upper bound
        // gpt-4o-mini (the default model) at detail low: 2833 tokens per chart by OpenAI's rule.
        #expect(first.plan.perRequest?.imageTokens == [2833, 2833, 2833] && first.plan.perRequest?.outputTokens == 600)

        // The measured hit rate is exactly the share of honest answers among decided calls, and consistent with 70 %.
        let decided = truths.values.filter { $0.direction != .none }
        let card = try #require(first.visionCards.first { $0.model == "scripted-vision" })
        #expect(card.decided == decided.count && card.decided >= 20, "decided \(card.decided) hits \(card.hits)")
        #expect(card.hits == decided.filter(\.honest).count)
        #expect(card.interval.low < 0.7 && 0.7 < card.interval.high && abs(card.hitRate - 0.7) < 0.1, "hit rate \(card.hitRate) over \(card.decided)")
        // Calibration: the confident answers are the honest ones.
        let high = try #require(card.buckets.first { $0.low == 0.9 }), low = try #require(card.buckets.first { $0.low == 0.6 })
        #expect(high.hits == high.decided && low.hits == 0 && high.decided + low.decided == card.decided)
        #expect(card.byAgreement.map(\.name) == ["aligned"])
        // The rules analyst's scorecard on the very same points, side by side, and the engine's statistics.
        #expect(first.rulesCards.allSatisfy { $0.model == RulesAnalyst.model })
        #expect(first.text.contains("scripted-vision: ") && (first.rulesCards.isEmpty || first.text.contains("\(RulesAnalyst.model): ")))
        for needle in ["direction scorecard at the same 60 points", "calibration", "95 % Wilson", "break-even", "random sides", "edge: ",
                       "rules analyst at the same points"] {
            #expect(first.text.contains(needle), "missing \(needle)")
        }
        #expect(first.vision.report.whole.trades > 0)

        // The same command again: every answer from the cache, nothing asked, nothing paid, the same figures.
        let again = try await VisionEvaluation.run(market: m, analyst: analyst(s, m, options(k, run: "second")), options: options(k, run: "second"))
        #expect(await s.server.received.count == k && again.requests == 0 && again.costUSD == 0)
        #expect(again.plan.toAsk == 0 && again.plan.estimateUSD == 0)
        #expect(again.visionCards.first?.hits == card.hits && again.vision.report.whole.trades == first.vision.report.whole.trades)
    }

    @Test func overTheBudgetNothingIsAskedAndARunStoppedByItsBudgetResumes() async throws {
        let k = 12
        let m = try Self.market { $0.analyst.dailyBudgetUSD = Decimal(string: "0.001")! }
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        let points = try VisionEvaluation.sample(market: m, k: k, seed: 42, horizonMs: 4 * 3_600_000)
        let truths = Self.truths(m, points: points)

        // The estimate exceeds analyst.daily_budget_usd: refused before any request.
        let refused = options(k, run: "a")
        await #expect(throws: VisionEvaluation.Failure.self) { _ = try await VisionEvaluation.run(market: m, analyst: analyst(s, m, refused), options: refused) }
        #expect(await s.server.received.isEmpty)

        // --budget covers the estimate, but the server bills 1M prompt tokens a request (0.15006 USD):
        // the one budget of 0.30 USD is spent after two requests and asking stops.
        await s.server.setResponder(Self.respond(truths, prompt: 1_000_000))
        let capped = options(k, run: "b", budget: Decimal(string: "0.30")!)
        let stopped = try await VisionEvaluation.run(market: m, analyst: analyst(s, m, capped), options: capped)
        #expect(!stopped.complete && stopped.stopped!.contains("budget") && stopped.requests == 2 && stopped.answered.count == 2)
        #expect(await s.server.received.count == 2)
        #expect(stopped.text.contains("INCOMPLETE") && stopped.text.contains("resume"))

        // The next run asks only the rest.
        await s.server.setResponder(Self.respond(truths))
        let rest = options(k, run: "c", budget: 1)
        let resumed = try await VisionEvaluation.run(market: m, analyst: analyst(s, m, rest), options: rest)
        #expect(resumed.plan.toAsk == k - 2 && resumed.requests == k - 2 && resumed.complete)
        #expect(await s.server.received.count == k)
        #expect(resumed.answered.filter(\.fromCache).count == 2)
    }
}
