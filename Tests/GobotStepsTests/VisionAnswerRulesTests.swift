@testable import Analysts
import Charts
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import Testing
@testable import GobotSteps

/// What the vision analyst caches, how it reads `timeframe_agreement`, and one budget per run.
@Suite(.serialized) struct VisionAnswerRulesTests {
    func analyst(_ url: String, db: GobotDatabase, budget: Decimal = 1, agreement: Bool = true, period: String? = nil) -> VisionAnalyst {
        VisionAnalyst(settings: .init(baseURL: url, model: "gpt-4o-mini", detail: "low", apiKey: "sk-test-key-not-real-0000", apiKeyHeader: "authorization",
                                      dailyBudgetUSD: budget, inputUSDPerMillion: Decimal(string: "0.15")!, outputUSDPerMillion: Decimal(string: "0.60")!,
                                      maxRetries: 0, requireTimeframeAgreement: agreement, budgetPeriod: period),
                      transport: URLSessionTransport(timeoutSeconds: 60), ledger: DatabaseAnalystLedger(db: db), sleep: { _ in })
    }

    static func charts(_ symbol: String = "XRPUSDT") -> (ChartSet, [[UInt8]]) {
        let candles = VisionAnalystTests.risingCandles()
        return (ChartSet(symbol: symbol, m1: candles, m5: candles, m15: candles), ["1m", "5m", "15m"].map { CandleChart.render(candles, symbol: symbol, interval: $0) })
    }

    static func answer(_ direction: String, _ agreement: String) -> String {
        VisionAnalystTests.completion(#"{"direction":""# + direction + #"","confidence":0.8,"timeframe_agreement":""# + agreement + #"","reasoning":"r"}"#)
    }

    @Test func anUnusableAnswerIsPaidButNotCachedAUsableOneIs() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        defer { Task { await server.stop() } }
        let db = try GobotDatabase.inMemory()
        let a = analyst(url, db: db)
        let (set, pngs) = Self.charts()
        await server.enqueue(.json(200, VisionAnalystTests.completion(#"{"direction":"long","confidence":0.8,"#, finish: "length")))
        let cut = try await a.analyze(set, pngs: pngs, nowMs: 0)
        #expect(cut.direction == .none && cut.costUSD > 0)
        // Asked again: the cut-off answer was not cached.
        await server.enqueue(.json(200, Self.answer("long", "aligned")))
        let good = try await a.analyze(set, pngs: pngs, nowMs: 1000)
        #expect(good.direction == .long && good.rationale.hasPrefix("timeframes aligned"))
        #expect(await server.received.count == 2)
        // Now cached.
        let again = try await a.analyze(set, pngs: pngs, nowMs: 2000)
        #expect(again.direction == .long && again.costUSD == 0)
        #expect(await server.received.count == 2)
        // A schema-invalid answer (no timeframe_agreement) is not cached either.
        let (other, otherPngs) = Self.charts("BNBUSDT")
        await server.enqueue(.json(200, VisionAnalystTests.completion(#"{"direction":"short","confidence":0.8,"reasoning":"r"}"#)))
        let invalid = try await a.analyze(other, pngs: otherPngs, nowMs: 3000)
        #expect(invalid.direction == .none && invalid.rationale.contains("timeframe_agreement"))
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM analyst_cache") } == 1)
    }

    @Test func theCacheKeyChangesWithTheModelSoAnotherModelIsAskedAgain() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        defer { Task { await server.stop() } }
        let db = try GobotDatabase.inMemory()
        let (set, pngs) = Self.charts()
        await server.enqueue(.json(200, Self.answer("long", "aligned")))
        _ = try await analyst(url, db: db).analyze(set, pngs: pngs, nowMs: 0)
        var settings = analyst(url, db: db).settings
        settings.model = "gpt-4o"
        let other = VisionAnalyst(settings: settings, transport: URLSessionTransport(timeoutSeconds: 60), ledger: DatabaseAnalystLedger(db: db), sleep: { _ in })
        #expect(other.cacheKey(text: "x", pngs: pngs) != analyst(url, db: db).cacheKey(text: "x", pngs: pngs))
        await server.enqueue(.json(200, Self.answer("short", "aligned")))
        #expect(try await other.analyze(set, pngs: pngs, nowMs: 0).direction == .short)
        #expect(await server.received.count == 2)
    }

    @Test func mixedOrConflictingTimeframesStayOutUnlessConfiguredOtherwise() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        defer { Task { await server.stop() } }
        let (set, pngs) = Self.charts()
        await server.enqueue(.json(200, Self.answer("long", "mixed")))
        let strict = try await analyst(url, db: try GobotDatabase.inMemory()).analyze(set, pngs: pngs, nowMs: 0)
        #expect(strict.direction == .none && strict.rationale.contains("timeframes mixed"))
        await server.enqueue(.json(200, Self.answer("long", "conflicting")))
        let loose = try await analyst(url, db: try GobotDatabase.inMemory(), agreement: false).analyze(set, pngs: pngs, nowMs: 0)
        #expect(loose.direction == .long && loose.rationale.hasPrefix("timeframes conflicting"))
    }

    @Test func aRunBudgetIsSpentOnceAcrossSimulatedDays() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        defer { Task { await server.stop() } }
        let db = try GobotDatabase.inMemory()
        // One answer costs 0.000228 USD; the run may spend 0.0002.
        let a = analyst(url, db: db, budget: Decimal(string: "0.0002")!, period: "backtest-1")
        let (set, pngs) = Self.charts()
        await server.enqueue(.json(200, Self.answer("long", "aligned")))
        _ = try await a.analyze(set, pngs: pngs, nowMs: 0)
        let (other, otherPngs) = Self.charts("BNBUSDT")
        // A later simulated day is not a new budget.
        await #expect(throws: VisionError.self) { _ = try await a.analyze(other, pngs: otherPngs, nowMs: 3 * 86_400_000) }
        #expect(await server.received.count == 1)
    }
}
