import Analysts
import BinanceFutures
import Charts
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import Testing
@testable import GobotSteps

/// The vision analyst over real HTTP against a scripted OpenAI-compatible server.
@Suite(.serialized) struct VisionAnalystTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/openai")

    static func completion(_ content: String, finish: String = "stop", prompt: Int = 1200, completion: Int = 80) -> String {
        let escaped = String(data: try! JSONSerialization.data(withJSONObject: [content], options: []), encoding: .utf8)!.dropFirst().dropLast()
        return #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"#
            + escaped + #","refusal":null},"finish_reason":""# + finish + #""}],"usage":{"prompt_tokens":"# + String(prompt)
            + #","completion_tokens":"# + String(completion) + #","total_tokens":1280}}"#
    }

    static let answer = #"{"direction":"long","confidence":0.82,"timeframe_agreement":"aligned","reasoning":"higher lows on all three"}"#

    struct Setup {
        let server: ScriptedServer
        let analyst: VisionAnalyst
        let db: GobotDatabase
        let charts: ChartSet
        let pngs: [[UInt8]]
    }

    /// Sixty 1m candles rising by 1 a minute. Typed step by step: as one closure of untyped
    /// literals it took the type checker 20 s, in each of two test files.
    static func risingCandles() -> [Candle] {
        (0..<60).map { (i: Int) -> Candle in
            let x = Double(i)
            return Candle(openTimeMs: Int64(i) * 60_000, open: 100 + x, high: 102 + x, low: 99 + x, close: 101 + x, volume: 5)
        }
    }

    func setUp(budget: Decimal = 1) async throws -> Setup {
        let server = try ScriptedServer()
        let url = try await server.start()
        let db = try GobotDatabase.inMemory()
        let analyst = VisionAnalyst(settings: .init(baseURL: url, model: "gpt-4o-mini", detail: "low", apiKey: "sk-test-key-not-real-0000",
                                                    apiKeyHeader: "authorization", dailyBudgetUSD: budget,
                                                    inputUSDPerMillion: Decimal(string: "0.15")!, outputUSDPerMillion: Decimal(string: "0.60")!, maxRetries: 2),
                                    transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds), ledger: DatabaseAnalystLedger(db: db), sleep: { _ in })
        let candles = Self.risingCandles()
        let set = ChartSet(symbol: "XRPUSDT", m1: candles, m5: candles, m15: candles)
        let pngs = ["1m", "5m", "15m"].map { CandleChart.render(candles, symbol: "XRPUSDT", interval: $0) }
        return Setup(server: server, analyst: analyst, db: db, charts: set, pngs: pngs)
    }

    @Test func aValidAnswerBecomesASignalWithTokensAndCost() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(200, Self.completion(Self.answer)))
        let signal = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        #expect(signal.direction == .long && signal.confidence == 0.82)
        #expect(signal.promptTokens == 1200 && signal.completionTokens == 80)
        #expect(abs(signal.costUSD - 0.000228) < 1e-9)  // 1200 × 0.15 + 80 × 0.60 per million
        let sent = try #require(await s.server.received.first)
        #expect(sent.path == "/chat/completions")
        #expect(sent.headers["authorization"] == "Bearer sk-test-key-not-real-0000")
        let body = try #require(try JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
        let format = body["response_format"] as? [String: Any]
        #expect(format?["type"] as? String == "json_schema")
        #expect((format?["json_schema"] as? [String: Any])?["strict"] as? Bool == true)
        let parts = ((body["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]]) ?? []
        #expect(parts.map { $0["type"] as? String } == ["text", "image_url", "image_url", "image_url"])
        let url = (parts[1]["image_url"] as? [String: Any])?["url"] as? String ?? ""
        #expect(url.hasPrefix("data:image/png;base64,iVBORw0KGgo"))
        #expect(!(String(data: sent.body, encoding: .utf8) ?? "").contains("BINANCE"))
    }

    @Test func refusalAndTruncatedJSONGiveNoSignal() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        let refusal = try String(contentsOf: Self.fixtures.appendingPathComponent("v1_chat_completions_POST.refusal.response.json"), encoding: .utf8)
        await s.server.enqueue(.json(200, refusal))
        let refused = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        #expect(refused.direction == .none && refused.rationale.hasPrefix("refused:"))
        let truncated = try String(contentsOf: Self.fixtures.appendingPathComponent("v1_chat_completions_POST.finish_length.response.json"), encoding: .utf8)
        await s.server.enqueue(.json(200, truncated))
        let other = ChartSet(symbol: "BNBUSDT", m1: s.charts.m1, m5: s.charts.m5, m15: s.charts.m15)
        let cut = try await s.analyst.analyze(other, pngs: s.pngs, nowMs: 0)
        #expect(cut.direction == .none && cut.rationale.contains("finish_reason length"))
        await s.server.enqueue(.json(200, Self.completion(#"{"direction":"up","confidence":2}"#)))
        let third = ChartSet(symbol: "ETHUSDT", m1: s.charts.m1, m5: s.charts.m5, m15: s.charts.m15)
        #expect(try await s.analyst.analyze(third, pngs: s.pngs, nowMs: 0).direction == .none)
    }

    @Test func a429IsRetriedHonouringRetryAfterThenSucceeds() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(429, #"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                                     headers: ["retry-after-ms": "174"]),
                               .json(200, Self.completion(Self.answer)))
        let signal = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        #expect(signal.direction == .long)
        #expect(await s.server.received.count == 2)
    }

    @Test func a401IsAConfigErrorAndNotRetried() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(401, #"{"error":{"message":"Incorrect API key provided: sk-te***0000.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#))
        await #expect(throws: VisionError.unauthorized("Incorrect API key provided: sk-te***0000.")) {
            _ = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        }
        #expect(await s.server.received.count == 1)
        #expect(VisionError.unauthorized("x").stepExit == .badConfig)
        await s.server.enqueue(.json(429, #"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#))
        await #expect(throws: VisionError.quotaExhausted("You exceeded your current quota")) {
            _ = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        }
        #expect(await s.server.received.count == 2)
    }

    @Test func theDailyBudgetStopsPaidCalls() async throws {
        let s = try await setUp(budget: Decimal(string: "0.0002")!)
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(200, Self.completion(Self.answer)))
        _ = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)  // spends 0.000228
        let other = ChartSet(symbol: "BNBUSDT", m1: s.charts.m1, m5: s.charts.m5, m15: s.charts.m15)
        await #expect(throws: VisionError.budgetExhausted(spent: Decimal(string: "0.000228")!, budget: Decimal(string: "0.0002")!)) {
            _ = try await s.analyst.analyze(other, pngs: s.pngs, nowMs: 0)
        }
        #expect(await s.server.received.count == 1)
        // A new UTC day has a new budget.
        await s.server.enqueue(.json(200, Self.completion(Self.answer)))
        _ = try await s.analyst.analyze(other, pngs: s.pngs, nowMs: 86_400_000)
    }

    @Test func theSameQuestionIsNeverPaidTwice() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(200, Self.completion(Self.answer)))
        let first = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 0)
        let second = try await s.analyst.analyze(s.charts, pngs: s.pngs, nowMs: 1000)
        #expect(await s.server.received.count == 1)
        #expect(second.direction == first.direction && second.costUSD == 0 && second.rationale.hasPrefix("(cached)"))
        // Different chart bytes are a different question.
        var changed = s.pngs
        changed[0] = CandleChart.render(Array(s.charts.m1.dropLast()), symbol: "XRPUSDT", interval: "1m")
        await s.server.enqueue(.json(200, Self.completion(Self.answer)))
        _ = try await s.analyst.analyze(s.charts, pngs: changed, nowMs: 2000)
        #expect(await s.server.received.count == 2)
    }
}

extension VisionAnalystTests {
    @Test func aBacktestWithTheVisionAnalystAsksOncePerChartSetAndNeverPaysTwice() async throws {
        let s = try await setUp(budget: 10)
        defer { Task { await s.server.stop() } }
        let none = #"{"direction":"none","confidence":0.3,"timeframe_agreement":"mixed","reasoning":"no edge"}"#
        await s.server.setFallback(.json(200, Self.completion(none)))
        var options = Backtest.Options(dataDir: BacktestTests.sample, fromMs: BacktestTests.start, toMs: BacktestTests.start + 11 * 3_600_000,
                                       exchangeInfoPath: "\(BacktestTests.sample)/exchangeInfo.json")
        options.symbols = ["XRPUSDT"]
        let first = try await Backtest.run(config: GobotConfig(), options: options, analyst: s.analyst)
        let asked = await s.server.received.count
        #expect(asked > 0 && asked == first.signals.count)
        #expect(first.signals.allSatisfy { $0.signal.model == "gpt-4o-mini-2024-07-18" && $0.chartHashes.split(separator: ",").count == 3 })
        #expect(first.closed.isEmpty)
        let firstRequest = try #require(await s.server.received.first)
        let body = try #require(try JSONSerialization.jsonObject(with: firstRequest.body) as? [String: Any])
        let parts = ((body["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]]) ?? []
        #expect(parts.filter { $0["type"] as? String == "image_url" }.count == 3)
        // The same history again: every answer comes from the cache.
        let second = try await Backtest.run(config: GobotConfig(), options: options, analyst: s.analyst)
        #expect(await s.server.received.count == asked)
        #expect(second.signals.count == first.signals.count)
    }

    @Test func aBacktestSaysWhatItsOneBudgetBoughtAndCountsEveryDecisionWithoutAnAnswer() async throws {
        // Three paid answers fit the run's budget (0.000228 USD each): the first is cut off, then "none".
        let s = try await setUp(budget: Decimal(string: "0.0005")!)
        defer { Task { await s.server.stop() } }
        await s.server.enqueue(.json(200, Self.completion(Self.answer, finish: "length")))
        await s.server.setFallback(.json(200, Self.completion(#"{"direction":"none","confidence":0.3,"timeframe_agreement":"mixed","reasoning":"no"}"#)))
        var options = Backtest.Options(dataDir: BacktestTests.sample, fromMs: BacktestTests.start, toMs: BacktestTests.start + 11 * 3_600_000,
                                       exchangeInfoPath: "\(BacktestTests.sample)/exchangeInfo.json")
        options.symbols = ["XRPUSDT"]
        let r = try await Backtest.run(config: GobotConfig(), options: options, analyst: s.analyst)
        #expect(await s.server.received.count == 3)
        let summary = Backtest.summary(r)
        #expect(summary.contains("analyst: budget for the whole run 0.0005 USD, spent 0.000684 USD on 3 paid answers"), "\(summary)")
        // Every later decision is counted as skipped for the budget; the cut-off answer as unusable.
        let line = try #require(summary.split(separator: "\n").first { $0.hasPrefix("analyst decisions skipped: ") })
        let exhausted = try #require(line.firstRange(of: /budget_exhausted (\d+)/).map { Int(line[$0].split(separator: " ")[1])! })
        #expect(exhausted > 0 && line.contains("unusable_answer 1") && line.contains("the budget ran out: \(exhausted) decisions"))
        #expect(r.signals.count == 3)
    }
}
