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

    /// The host's clock, `offsetMs` away from the exchange's.
    struct SkewedClock: WallClock {
        var offsetMs: Int64
        func nowMs() -> Int64 { SystemClock().nowMs() + offsetMs }
    }

    func setUp(timeout: Double = 60, hostClockAheadMs: Int64 = 0) async throws -> Setup {
        let fake = try FakeBinance()
        let url = try await fake.start()
        await fake.setExchangeInfo(try Data(contentsOf: Self.info))
        await fake.setMark("XRPUSDT", 2)
        let db = try GobotDatabase.inMemory()
        var config = GobotConfig()
        config.exchange.environment = .demo
        config.emergency.killSwitchEnabled = false
        // The default skew limit (1 s) holds even when the loopback round trip takes seconds on
        // a loaded machine: the gate counts only the skew the measurement proves (ClockSync).
        // A wide recvWindow keeps the clock_uncertain gate (RiskGateTests) out of these tests.
        config.exchange.recvWindowMs = 30_000
        let clock = SkewedClock(offsetMs: hostClockAheadMs)
        let client = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: timeout),
                                   credentials: .init(apiKey: FakeBinance.apiKey, secret: FakeBinance.secret),
                                   state: DatabaseExchangeState(db: db, breakerThreshold: 5, breakerCooldownMs: 60_000),
                                   nowMs: { clock.nowMs() }, sleep: { _ in })
        var ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: [:]), step: .trade, exchange: client)
        ctx.saveCharts = false
        ctx.lookupDelaysMs = [200, 400]
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

    /// Binance answers at most 1000 income records a request, oldest first. 2,500 records in one
    /// millisecond cannot be passed by moving the time cursor: they are read by page, and the
    /// records after that millisecond are still booked, each once.
    @Test func moreIncomeRecordsInOneMillisecondThanAPageHoldsAreAllBooked() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        let t = try s.ctx.exchangeNowMs() - 3_600_000
        await s.fake.addIncome(symbol: "XRPUSDT", type: "REALIZED_PNL", amount: Decimal(string: "0.001")!, atMs: t, count: 2_500)
        await s.fake.addIncome(symbol: "XRPUSDT", type: "COMMISSION", amount: Decimal(string: "-0.01")!, atMs: t + 1, count: 1)
        _ = try await Steps.reconcile(s.ctx)
        #expect(try s.db.ledgerRowCount() == 2_501)
        let totals = try s.db.ledgerTotals(fromMs: t - 1)
        #expect(totals.realized == Decimal(string: "2.5")!)
        let pages = await s.fake.requests.filter { $0.path == "/fapi/v1/income" }.compactMap { $0.query["page"] }
        #expect(pages == ["2", "3"])
        // Booking is idempotent: a second run adds nothing.
        _ = try await Steps.reconcile(s.ctx)
        #expect(try s.db.ledgerRowCount() == 2_501)
    }

    /// Exactly two full pages in one millisecond: the third page is empty, which is the end, not
    /// an endpoint ignoring `page`.
    @Test func exactlyTwoFullPagesInOneMillisecondEndAtTheEmptyThird() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        let t = try s.ctx.exchangeNowMs() - 3_600_000
        await s.fake.addIncome(symbol: "XRPUSDT", type: "REALIZED_PNL", amount: Decimal(string: "0.001")!, atMs: t, count: 2_000)
        let report = try await Steps.reconcile(s.ctx)
        #expect(report.exit == .ok, "\(report.message)")
        #expect(try s.db.ledgerRowCount() == 2_000)
        #expect(await s.fake.requests.filter { $0.path == "/fapi/v1/income" }.compactMap { $0.query["page"] } == ["2", "3"])
    }

    /// An endpoint that answers page 1 to every page: one more request shows nothing new, what
    /// was read is booked, the later records too, and the run fails with the income cursor left
    /// before that millisecond (so a later run reads it again), without spending 100 requests.
    @Test func anIncomeEndpointThatIgnoresPageFailsTheRunAfterOneRequestWithoutMovingPast() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        await s.fake.setIncomeIgnoresPage(true)
        let t = try s.ctx.exchangeNowMs() - 3_600_000
        await s.fake.addIncome(symbol: "XRPUSDT", type: "REALIZED_PNL", amount: Decimal(string: "0.001")!, atMs: t, count: 1_500)
        await s.fake.addIncome(symbol: "XRPUSDT", type: "COMMISSION", amount: Decimal(string: "-0.01")!, atMs: t + 1, count: 1)
        let report = try await Steps.reconcile(s.ctx)
        #expect(report.exit == .failed)
        #expect(report.message.contains("brought nothing new"))
        #expect(try s.db.ledgerRowCount() == 1_001)
        #expect(await s.fake.requests.filter { $0.path == "/fapi/v1/income" }.compactMap { $0.query["page"] } == ["2"])
        #expect(Int64(try s.db.value(forKey: "income_cursor_ms") ?? "") == t - 1)
    }

    @Test func aSlowTimeRequestIsNotTakenForAWrongHostClock() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        // The server stamps its time, then its answer takes 3 s: measured at the end of the
        // request the offset is -3 s, though both clocks agree.
        await s.fake.inject(.delayAfterAccept(seconds: 3), on: "/fapi/v1/time")
        let report = try await Steps.trade(s.ctx)
        #expect(report.message.contains("XRPUSDT: long 5 @ 2, stop 1.96, target 2.08"))
        // The slow answer was measured again and the fastest round trip kept.
        let sync = try #require(try DatabaseExchangeState(db: s.db, breakerThreshold: 5, breakerCooldownMs: 60_000).clockSync())
        #expect(sync.roundTripMs < 3_000)
        #expect(sync.provableSkewMs == 0)
        #expect(await s.fake.count(method: "GET", path: "/fapi/v1/time") >= 2)
    }

    @Test func aHostClockFiveSecondsFastIsRefusedEvenBehindASlowTimeRequest() async throws {
        let s = try await setUp(hostClockAheadMs: 5_000)
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.delayAfterAccept(seconds: 2), on: "/fapi/v1/time")
        // The position-mode check syncs the clock before the gate looks at it.
        let report = try await Steps.trade(s.ctx)
        let sync = try #require(try DatabaseExchangeState(db: s.db, breakerThreshold: 5, breakerCooldownMs: 60_000).clockSync())
        #expect(sync.provableSkewMs <= -4_000)
        #expect(report.message.contains("XRPUSDT: rejected, the host clock is"))
        #expect(report.message.contains("ms ahead of the exchange, beyond execution.max_clock_skew_ms 1000"))
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/order") == 0)
    }

    @Test func anEntryAnswered429IsRefusedNotUnknown() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.status429(retryAfterSeconds: 30), on: "/fapi/v1/order", method: "POST")
        let report = try await Steps.trade(s.ctx)
        #expect(report.exit == .ok)
        #expect(report.message.contains("XRPUSDT: entry rejected, rate limited by the exchange"))
        #expect(try s.db.order(clientOrderId: "gb-1-E")?.status == "rejected")
        #expect(try s.db.livePositions().isEmpty)
        // A definite refusal is not looked up and raises no "outcome unknown" alarm.
        #expect(await s.fake.count(method: "GET", path: "/fapi/v1/order") == 0)
        #expect(!(try s.db.outbox().contains { $0.payload.contains("outcome unknown") }))
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/order") == 1)
    }

    @Test func timeoutOnAnEntryThatExecutedIsResolvedWithoutASecondOrder() async throws {
        let s = try await setUp(timeout: 3)
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.delayAfterAccept(seconds: 6), on: "/fapi/v1/order")
        // The answer is lost; trade looks the order up in the same run and protects it at once.
        let report = try await Steps.trade(s.ctx)
        #expect(report.exit == .ok)
        #expect(report.message.contains("XRPUSDT: long 5 @ 2, stop 1.96, target 2.08"))
        #expect(try s.db.order(clientOrderId: "gb-1-E")?.status == "filled")
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

    @Test func aStopWhoseAnswerWasLostIsLookedUpNotClosedAtMarket() async throws {
        let s = try await setUp(timeout: 2)
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.delayAfterAccept(seconds: 4), on: "/fapi/v1/algoOrder")  // the stop
        let report = try await Steps.trade(s.ctx)
        #expect(report.exit == .ok)
        #expect(report.message.contains("stop 1.96, target 2.08"))
        #expect(await s.fake.positions["XRPUSDT"] == 5)
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/order") == 1)  // no close at market
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/algoOrder") == 2)  // never resent
        #expect(try s.db.order(clientOrderId: "gb-1-SL")?.status == "open")
        #expect(try !s.db.outbox().contains { $0.payload.contains("stop-loss rejected") })
    }

    @Test func anEntryStillInFlightIsNotDeclaredNeverSent() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        // trade was killed after writing the intent; its request is still on the way.
        let plan = try RiskGate.evaluate(symbol: "XRPUSDT", signal: Signal(direction: .long, confidence: 0.9, rationale: "", model: ""),
                                         price: 2, rules: TradingHarness.xrp, state: RiskState(nowMs: s.ctx.nowMs),
                                         config: s.ctx.config, closedTrades: 0, wins: 0).get()
        _ = try s.db.recordEntryIntent(EntryIntent(plan: plan, signalId: 1, entryClientId: "gb-1-E"), atMs: s.ctx.nowMs)
        let r = try await Steps.reconcile(s.ctx)
        #expect(r.message.contains("entry gb-1-E not found yet, may still be in flight"))
        #expect(try s.db.order(clientOrderId: "gb-1-E")?.status == "intent")
        #expect(try s.db.livePositions().map(\.status) == ["opening"])
        // The request arrives and executes; the next reconcile adopts it into gobot's row and protects it.
        _ = try await s.ctx.exchange!.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: plan.quantity,
                                                                          reduceOnly: false, clientOrderId: "gb-1-E"))
        let r2 = try await Steps.reconcile(s.ctx)
        #expect(r2.message.contains("entry gb-1-E found FILLED"))
        #expect(try s.db.livePositions().map(\.status) == ["open"])
        #expect(await s.fake.algo("gb-1-SL")?["algoStatus"] == "NEW")
        #expect(await s.fake.algo("gb-1-TP")?["algoStatus"] == "NEW")
        #expect(try !s.db.outbox().contains { $0.payload.contains("did not open") })
    }

    @Test func aHostClockAnHourFastStillBooksTheRealPnLAndFees() async throws {
        var s = try await setUp(hostClockAheadMs: 3_600_000)
        let fake = s.fake
        defer { Task { await fake.stop() } }
        // The clock-skew gate (#14) refuses entries on such a host; this test is about booking,
        // so the gate is widened to let the entry through.
        s.ctx.config.execution.maxClockSkewMs = 7_200_000
        try signal(s)
        _ = try await Steps.trade(s.ctx)
        await s.fake.trigger("gb-1-SL")
        let r = try await Steps.reconcile(s.ctx)
        #expect(r.message.contains("XRPUSDT: closed by stop-loss, P&L -0.2"))
        let p = try #require(try s.db.positions().first)
        #expect(p.realizedPnl == Decimal(string: "-0.2")!)
        #expect(p.fees == Decimal(string: "0.0099")!)  // 0.0005 × (10 + 9.8), the entry's commission included
        #expect(try s.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.0099")!)
    }

    @Test func aMarginTypeErrorIsReportedOnTheSignalAndNothingIsSent() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        await s.fake.inject(.http503Unavailable, on: "/fapi/v1/marginType")
        let report = try await Steps.trade(s.ctx)
        #expect(report.message.contains("margin type or leverage could not be set"))
        #expect(try s.db.signals().first?.decision?.hasPrefix("account_setup:") == true)
        #expect(await s.fake.count(method: "POST", path: "/fapi/v1/order") == 0)
    }

    @Test func flattenKeepsTheStopWhenTheCloseFailsAndClosesTheLiveSize() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        try signal(s)
        _ = try await Steps.trade(s.ctx)
        // 3 more were bought by hand: the exchange holds 8, gobot recorded 5.
        _ = try await s.ctx.exchange!.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 3, reduceOnly: false, clientOrderId: "manual-1"))
        // The owner's own conditional order on the same symbol: not gobot's to cancel.
        _ = try await s.ctx.exchange!.placeProtectiveOrder(ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .stopMarket,
                                                                                  triggerPrice: Decimal(string: "1.5")!, clientAlgoId: "mine-1"))
        await s.fake.inject(.http503Unavailable, on: "/fapi/v1/order")
        let failed = try await Steps.halt(s.ctx, reason: "drill", flatten: true, actor: "test")
        #expect(failed.message.contains("NOT closed: XRPUSDT"))
        #expect(failed.exit == .failed)
        #expect(await s.fake.positions["XRPUSDT"] == 8)
        #expect(await s.fake.algo("gb-1-SL")?["algoStatus"] == "NEW")  // still protected
        let closed = try await Steps.halt(s.ctx, reason: "drill", flatten: true, actor: "test")
        #expect(closed.message.contains("cancelled 2 protective orders, closed 1 positions"))
        #expect(closed.message.contains("left open, not placed by gobot: XRPUSDT mine-1"))
        #expect(closed.exit == .ok)
        #expect(await s.fake.positions["XRPUSDT"] == 0)
        #expect(await s.fake.algo("gb-1-SL")?["algoStatus"] == "CANCELED")
        #expect(await s.fake.algo("mine-1")?["algoStatus"] == "NEW")
    }

    @Test func theOrphanScanCancelsOnlyGobotsOwnConditionalOrders() async throws {
        let s = try await setUp()
        defer { Task { await s.fake.stop() } }
        let ex = s.ctx.exchange!
        // No position on XRPUSDT: a stop gobot left behind, and one its owner placed by hand.
        for id in ["gb-99-SL", "mine-2"] {
            _ = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .stopMarket,
                                                                        triggerPrice: Decimal(string: "1.5")!, clientAlgoId: id))
        }
        let report = try await Steps.reconcile(s.ctx)
        #expect(report.message.contains("XRPUSDT: cancelled orphan STOP_MARKET gb-99-SL"))
        #expect(await s.fake.algo("gb-99-SL")?["algoStatus"] == "CANCELED")
        #expect(await s.fake.algo("mine-2")?["algoStatus"] == "NEW")
        #expect(try await Steps.reconcile(s.ctx).message == "reconcile: in agreement with the exchange")
    }
}
