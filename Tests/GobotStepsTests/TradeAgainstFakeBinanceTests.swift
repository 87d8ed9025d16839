import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import Testing
@testable import GobotSteps

/// trade and reconcile through the real Binance client, over HTTP, against the fake server.
@Suite(.serialized) struct TradeAgainstFakeBinanceTests {
    static let info = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/binance/exchangeInfo.json")

    struct Setup {
        let fake: FakeBinance
        let db: GobotDatabase
        var ctx: StepContext
    }

    func setUp(timeout: Double = 60) async throws -> Setup {
        let fake = try FakeBinance()
        let url = try await fake.start()
        await fake.setExchangeInfo(try Data(contentsOf: Self.info))
        await fake.setMark("XRPUSDT", 2)
        let db = try GobotDatabase.inMemory()
        var config = GobotConfig()
        config.exchange.environment = .demo
        config.emergency.killSwitchEnabled = false
        let clock = SystemClock()
        let client = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: timeout),
                                   credentials: .init(apiKey: FakeBinance.apiKey, secret: FakeBinance.secret),
                                   state: DatabaseExchangeState(db: db, breakerThreshold: 5, breakerCooldownMs: 60_000),
                                   nowMs: { clock.nowMs() }, sleep: { _ in })
        var ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: [:]), step: .trade, exchange: client)
        ctx.saveCharts = false
        return Setup(fake: fake, db: db, ctx: ctx)
    }

    func signal(_ s: Setup) throws {
        try s.db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: s.ctx.nowMs,
                             signal: Signal(direction: .long, confidence: 0.9, rationale: "test", model: "test"), referencePrice: 2, chartHashes: [])
    }

    @Test func entryGetsStopAndTargetAsAlgoOrders() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        let report = try await Steps.trade(s.ctx)
        #expect(report.message.contains("XRPUSDT: long 5 @ 2, stop 1.96, target 2.08"))
        #expect(await s.fake.positions["XRPUSDT"] == 5)
        #expect(await s.fake.hedgeMode == false)  // switched to one-way before the first entry
        #expect(await s.fake.algo("gb-1-SL")?["orderType"] == "STOP_MARKET")
        #expect(await s.fake.algo("gb-1-TP")?["orderType"] == "TAKE_PROFIT_MARKET")
        _ = try await Steps.reconcile(s.ctx)
        #expect(try await Steps.reconcile(s.ctx).message == "reconcile: in agreement with the exchange")
    }

    @Test func timeoutOnAnEntryThatExecutedIsResolvedWithoutASecondOrder() async throws {
        let s = try await setUp(timeout: 3)
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.delayAfterAccept(seconds: 6), on: "/fapi/v1/order")
        let report = try await Steps.trade(s.ctx)
        #expect(report.message.contains("entry outcome unknown, left for reconcile"))
        #expect(try s.db.order(clientOrderId: "gb-1-E")?.status == "unknown")
        try await Task.sleep(nanoseconds: 3_500_000_000)  // let the slow answer finish on the server
        let r = try await Steps.reconcile(s.ctx)
        #expect(r.message.contains("entry gb-1-E found FILLED"))
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/order") == 1)
        #expect(await s.fake.algo("gb-1-SL")?["algoStatus"] == "NEW")
        #expect(await s.fake.algo("gb-1-TP")?["algoStatus"] == "NEW")
        #expect(try s.db.livePositions().map(\.status) == ["open"])
    }

    @Test func stopFilledWhileDownIsBookedTheSiblingCancelledAndFundingBooked() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        _ = try await Steps.trade(s.ctx)
        await s.fake.addFunding(symbol: "XRPUSDT", amount: Decimal(string: "-0.001")!)
        await s.fake.trigger("gb-1-SL")  // gobot was down
        let r = try await Steps.reconcile(s.ctx)
        #expect(r.message.contains("XRPUSDT: closed by stop-loss, P&L -0.2"))
        #expect(await s.fake.algo("gb-1-TP")?["algoStatus"] == "CANCELED")
        let p = try #require(try s.db.positions().first)
        #expect(p.status == "closed" && p.realizedPnl == Decimal(string: "-0.2")! && p.funding == Decimal(string: "-0.001")!)
        let totals = try s.db.ledgerTotals(fromMs: 0)
        #expect(totals.realized == Decimal(string: "-0.2")! && totals.funding == Decimal(string: "-0.001")!)
        #expect(totals.commission == Decimal(string: "-0.0099")!)  // 0.0005 × (10 + 9.8)
        #expect(try await Steps.reconcile(s.ctx).message == "reconcile: in agreement with the exchange")
    }

    @Test func aMissingStopIsPlacedAgain() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        _ = try await Steps.trade(s.ctx)
        try await s.ctx.exchange!.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        let r = try await Steps.reconcile(s.ctx)
        #expect(r.message.contains("repaired protection (stop 1.96)"))
        #expect(await s.fake.algo("gb-1-SL-2")?["algoStatus"] == "NEW")
    }
}
