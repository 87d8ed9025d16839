import Foundation
import GobotCore
import GobotHTTP
import GobotTestSupport
import Testing
@testable import BinanceFutures

/// Issue #9, client side: an order is sent once, and only a definite exchange answer decides.
/// Every fault travels through a real socket on 127.0.0.1.
@Suite(.serialized) struct OrderOutcomeTests {
    func client(_ url: String, state: MemoryExchangeState = MemoryExchangeState(), timeout: Double = LoopbackTiming.patientTimeoutSeconds, budget: Int = 1200) -> BinanceClient {
        BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: timeout),
                      credentials: .init(apiKey: FakeBinance.apiKey, secret: FakeBinance.secret), state: state, weightBudget: budget,
                      nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }, sleep: { _ in })
    }

    static let entry = MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 4, reduceOnly: false, clientOrderId: "gb-1-E")
    static let stop = ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .stopMarket, triggerPrice: Decimal(string: "1.96")!, clientAlgoId: "gb-1-SL")

    /// The fault is real: libcurl does re-send a request whose reused keep-alive connection
    /// dies unanswered. Without this, the tests below could pass for the wrong reason.
    @Test func libcurlResendsARequestWhoseKeptAliveConnectionDies() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let transport = URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds)
        _ = try await transport.send(HTTPRequestData(method: "GET", url: "\(url)/fapi/v1/time"))  // leaves a kept-alive connection
        await fake.inject(.executeThenDrop, on: "/fapi/v1/premiumIndex")
        let second = try await transport.send(HTTPRequestData(method: "GET", url: "\(url)/fapi/v1/premiumIndex?symbol=XRPUSDT"))
        #expect(second.status == 200)
        #expect(await fake.count(path: "/fapi/v1/premiumIndex") == 2)
    }

    @Test func anEntryWhoseKeptAliveConnectionDiesIsSentOnceAndUnknown() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        #expect(try await c.positions().isEmpty)  // a normal request first: a kept-alive connection exists
        await fake.inject(.executeThenDrop, on: "/fapi/v1/order", method: "POST")
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        #expect(await fake.executedCount(method: "POST", path: "/fapi/v1/order") == 1)
        #expect(await fake.positions["XRPUSDT"] == 4)  // not 8
        #expect(try await c.queryOrder(symbol: "XRPUSDT", clientOrderId: "gb-1-E")?.isFilled == true)
    }

    @Test func aStopOrCancelWhoseConnectionDiesIsSentOnceAndUnknown() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        _ = try await c.placeMarketOrder(Self.entry)
        await fake.inject(.executeThenDrop, on: "/fapi/v1/algoOrder", method: "POST")
        do {
            _ = try await c.placeProtectiveOrder(Self.stop)
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        #expect(await fake.executedCount(method: "POST", path: "/fapi/v1/algoOrder") == 1)
        #expect(try await c.queryAlgoOrder(clientAlgoId: "gb-1-SL")?.isOpen == true)  // it was placed: look up, never "rejected"
        await fake.inject(.executeThenDrop, on: "/fapi/v1/algoOrder", method: "DELETE")
        do {
            try await c.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        #expect(await fake.executedCount(method: "DELETE", path: "/fapi/v1/algoOrder") == 1)
        #expect(try await c.queryAlgoOrder(clientAlgoId: "gb-1-SL")?.algoStatus == "CANCELED")
    }

    @Test func a2xxThatDoesNotDecodeIsUnknownNotRefused() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        await fake.inject(.undecodable2xx, on: "/fapi/v1/order", method: "POST")
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        await fake.inject(.undecodable2xx, on: "/fapi/v1/algoOrder", method: "POST")
        do {
            _ = try await c.placeProtectiveOrder(Self.stop)
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        #expect(await fake.executedCount(method: "POST", path: "/fapi/v1/order") == 1)
        #expect(await fake.executedCount(method: "POST", path: "/fapi/v1/algoOrder") == 1)
        #expect(await fake.positions["XRPUSDT"] == 4)
        #expect(await fake.algo("gb-1-SL")?["algoStatus"] == "NEW")
    }

    /// Only Binance's own error body is a refusal; a proxy's page proves nothing either way.
    @Test func aNon2xxWithoutABinanceErrorBodyIsUnknownOnOrdersOnly() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let c = client(url)
        _ = try await c.serverTimeMs()
        await fake.inject(.proxyPage(status: 403), on: "/fapi/v1/order", method: "POST")
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        await fake.inject(.proxyPage(status: 403), on: "/fapi/v3/positionRisk")
        do {
            _ = try await c.positions()
            Issue.record("expected a bad response")
        } catch ExchangeError.badResponse { }
    }

    /// -1000 UNKNOWN ("an unknown error occurred while processing the request") on an order is
    /// no refusal: the order may exist. On a read it is only a passing failure.
    @Test func minus1000OnAnOrderIsUnknownNotRefused() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let c = client(url)
        _ = try await c.serverTimeMs()
        let unknown = FakeBinance.Fault.binanceError(status: 400, code: -1000, message: "An unknown error occured while processing the request.")
        await fake.inject(unknown, on: "/fapi/v1/order", method: "POST")
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected an unknown outcome")
        } catch let e as ExchangeError {
            guard case .unknownOutcome = e else { Issue.record("expected unknownOutcome, got \(e)"); return }
            #expect(!e.provesNothingExecuted)
        }
        await fake.inject(unknown, on: "/fapi/v3/positionRisk")
        do {
            _ = try await c.positions()
            Issue.record("expected unavailable")
        } catch ExchangeError.unavailable { }
        // A definite refusal stays definite.
        await fake.inject(.binanceError(status: 400, code: -2019, message: "Margin is insufficient."), on: "/fapi/v1/order", method: "POST")
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected a rejection")
        } catch let e as ExchangeError {
            #expect(e == .rejected(code: -2019, message: "Margin is insufficient."))
            #expect(e.provesNothingExecuted)
        }
    }

    /// A refused connection proves nothing was sent: that, and only that, is "unavailable".
    @Test func aConnectionThatWasNeverMadeIsUnavailableNotUnknown() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        let c = client(url)
        _ = try await c.serverTimeMs()  // the clock offset is synced; then the server goes away
        await fake.stop()
        try await Task.sleep(nanoseconds: 200_000_000)
        do {
            _ = try await c.placeMarketOrder(Self.entry)
            Issue.record("expected unavailable")
        } catch ExchangeError.unavailable { }
    }

    @Test func aDuplicateClientIdIsNamedSoTheCallerLooksItUp() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        _ = try await c.placeMarketOrder(Self.entry)
        _ = try await c.placeProtectiveOrder(Self.stop)
        do {
            _ = try await c.placeProtectiveOrder(Self.stop)
            Issue.record("expected -4116")
        } catch let error as ExchangeError {
            #expect(error.isDuplicateClientId)
            #expect(!ExchangeError.rejected(code: -2021, message: "Order would immediately trigger.").isDuplicateClientId)
        }
    }
}

/// Protection is never blocked by gobot's own limits (issue #9 item 8).
extension OrderOutcomeTests {
    @Test func stopsTargetsAndReduceOnlyClosesPassAnExhaustedBudgetAndAnOpenBreaker() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let state = MemoryExchangeState(breakerThreshold: 1, breakerCooldownMs: 600_000)
        let c = client(url, state: state, budget: 2000)
        _ = try await c.placeMarketOrder(Self.entry)
        // Another process on the IP used up the weight; then a failure opened the breaker.
        try state.recordUsedWeight(1_999, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(try state.recordFailure(reason: "test", nowMs: Int64(Date().timeIntervalSince1970 * 1000)))
        do { _ = try await c.positions(); Issue.record("a read should wait") } catch ExchangeError.breakerOpen { }
        do {
            _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 1, reduceOnly: false, clientOrderId: "gb-2-E"))
            Issue.record("a new entry should wait")
        } catch ExchangeError.breakerOpen { }
        let before = await fake.count(path: "/fapi/v1/order")
        #expect(try await c.placeProtectiveOrder(Self.stop).isOpen)
        #expect(try await c.placeProtectiveOrder(ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .takeProfitMarket,
                                                                        triggerPrice: Decimal(string: "2.1")!, clientAlgoId: "gb-1-TP")).isOpen)
        try await c.cancelAlgoOrder(clientAlgoId: "gb-1-TP")
        let close = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 4, reduceOnly: true, clientOrderId: "gb-1-X"))
        #expect(close.isFilled)
        #expect(await fake.count(path: "/fapi/v1/order") == before + 1)
        #expect(await fake.positions["XRPUSDT"] == 0)
    }

    @Test func protectionStillHonoursA418BanAndA429RetryAfter() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let state = MemoryExchangeState()
        let c = client(url, state: state)
        _ = try await c.placeMarketOrder(Self.entry)
        await fake.inject(.status429(retryAfterSeconds: 30), on: "/fapi/v1/algoOrder")
        do { _ = try await c.placeProtectiveOrder(Self.stop); Issue.record("429") } catch ExchangeError.rateLimited { }
        do { _ = try await c.placeProtectiveOrder(Self.stop); Issue.record("should back off") } catch ExchangeError.rateLimited { }
        #expect(await fake.count(path: "/fapi/v1/algoOrder") == 1)

        let banState = MemoryExchangeState()
        let banned = client(url, state: banState)
        let until = Int64(Date().timeIntervalSince1970 * 1000) + 120_000
        await fake.inject(.status418(bannedUntilMs: until), on: "/fapi/v1/algoOrder")
        await #expect(throws: ExchangeError.banned(untilMs: until)) { _ = try await banned.placeProtectiveOrder(Self.stop) }
        await #expect(throws: ExchangeError.banned(untilMs: until)) {
            _ = try await banned.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 4, reduceOnly: true, clientOrderId: "gb-1-X"))
        }
        #expect(await fake.count(path: "/fapi/v1/algoOrder") == 2)
        #expect(await fake.count(method: "POST", path: "/fapi/v1/order") == 1)
    }
}

/// History windows (issue #9 item 9, client side).
extension OrderOutcomeTests {
    @Test func historyWindowsOverSevenDaysAreRefusedByTheClientAndByTheFake() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let c = client(url)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let eightDays: Int64 = 8 * 86_400_000
        await #expect(throws: ExchangeError.self) { _ = try await c.userTrades(symbol: "XRPUSDT", startMs: now - eightDays, endMs: now) }
        await #expect(throws: ExchangeError.self) { _ = try await c.income(startMs: now - eightDays, endMs: now) }
        await #expect(throws: ExchangeError.self) { _ = try await c.income(startMs: now, endMs: now - 1) }
        #expect(await fake.count(path: "/fapi/v1/userTrades") == 0)
        #expect(await fake.count(path: "/fapi/v1/income") == 0)
        #expect(try await c.userTrades(symbol: "XRPUSDT", startMs: now - BinanceClient.maxHistoryWindowMs, endMs: now).isEmpty)
        #expect(try await c.income(startMs: now - BinanceClient.maxHistoryWindowMs, endMs: now).isEmpty)
        // What Binance answers when asked anyway.
        let params = [("symbol", "XRPUSDT"), ("startTime", String(now - eightDays)), ("endTime", String(now))]
        await #expect(throws: ExchangeError.rejected(code: -1127, message: "More than 168 hours between startTime and endTime.")) {
            _ = try await c.request("GET", "/fapi/v1/userTrades", params: params, weight: 5, signed: true)
        }
    }

    @Test func fillsAreReadFromAnIdWithoutTimes() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        for i in 0..<3 {
            var order = Self.entry
            order.clientOrderId = "gb-fromid-\(i)"
            _ = try await c.placeMarketOrder(order)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let ids = try await c.userTrades(symbol: "XRPUSDT", startMs: now - 60_000, endMs: now + 60_000).compactMap { Int64($0.id) }
        #expect(ids.count == 3)
        // Binance refuses fromId with times (-1128): the client sends it alone, and gets the fills from that id on.
        let from = try await c.userTrades(symbol: "XRPUSDT", fromId: ids[1])
        #expect(from.compactMap { Int64($0.id) } == Array(ids[1...]))
        #expect(await fake.count(path: "/fapi/v1/userTrades") == 2)
    }

    @Test func feesPaidInBNBKeepTheirAssetThroughTheClient() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        await fake.payCommission(in: "BNB", priceUSDT: 600)
        let c = client(url)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try await c.placeMarketOrder(Self.entry)
        let trade = try #require(try await c.userTrades(symbol: "XRPUSDT", startMs: now - 60_000, endMs: now + 60_000).first)
        #expect(trade.commissionAsset == "BNB" && trade.commission == Decimal(string: "0.0005")! * 8 / 600)
        let fee = try #require(try await c.income(startMs: now - 60_000, endMs: now + 60_000).first { $0.incomeType == "COMMISSION" })
        #expect(fee.asset == "BNB" && fee.income < 0)
        // It names its fill, so reconcile matches the fee to it whatever the record's time.
        #expect(fee.tradeId == trade.id)
    }
}

extension OrderOutcomeTests {
    @Test func openAlgoOrdersListsGobotsStopsPastAManualTrailingStop() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        await fake.addManualAlgo(["algoId": 5, "clientAlgoId": "and_9f2c", "algoType": "CONDITIONAL", "orderType": "TRAILING_STOP_MARKET",
                                  "symbol": "XRPUSDT", "side": "SELL", "positionSide": "BOTH", "algoStatus": "NEW", "triggerPrice": "",
                                  "activatePrice": "", "callbackRate": "1", "closePosition": false, "actualOrderId": "", "updateTime": 0])
        let c = client(url)
        _ = try await c.placeMarketOrder(Self.entry)
        _ = try await c.placeProtectiveOrder(Self.stop)
        #expect(try await c.openAlgoOrders(symbol: nil).map(\.clientAlgoId) == ["gb-1-SL"])
    }
}
