import Foundation
import GobotCore
import GobotHTTP
import GobotTestSupport
import Testing
@testable import BinanceFutures

/// The real client, over real HTTP on 127.0.0.1, against the fake server.
@Suite(.serialized) struct ClientAgainstFakeServerTests {
    func client(_ url: String, state: MemoryExchangeState = MemoryExchangeState(), timeout: Double = LoopbackTiming.patientTimeoutSeconds, skewMs: Int64 = 0,
                budget: Int = 1200) -> BinanceClient {
        BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: timeout),
                      credentials: .init(apiKey: FakeBinance.apiKey, secret: FakeBinance.secret), state: state, weightBudget: budget,
                      nowMs: { Int64(Date().timeIntervalSince1970 * 1000) + skewMs }, sleep: { _ in })
    }

    @Test func protectedEntryUsesTheAlgoEndpointAndTheServerAcceptsTheSignature() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let c = client(url)
        let entry = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-1-E"))
        #expect(entry.isFilled && entry.executedQty == 5 && entry.avgPrice == 2)
        let stop = try await c.placeProtectiveOrder(ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .stopMarket,
                                                                           triggerPrice: Decimal(string: "1.96")!, clientAlgoId: "gb-1-SL"))
        #expect(stop.isOpen && stop.orderType == "STOP_MARKET")
        let sent = try #require(await fake.algo("gb-1-SL"))
        #expect(sent["closePosition"] == "true" && sent["workingType"] == "MARK_PRICE")
        #expect(try await c.openAlgoOrders(symbol: nil).map(\.clientAlgoId) == ["gb-1-SL"])
        #expect(try await c.positions().first?.positionAmt == 5)
        #expect(try await c.queryOrder(symbol: "XRPUSDT", clientOrderId: "gb-404-E") == nil)
        try await c.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        #expect(try await c.queryAlgoOrder(clientAlgoId: "gb-1-SL")?.algoStatus == "CANCELED")
        try await c.setMarginType(symbol: "XRPUSDT", marginType: "ISOLATED")  // -4046 means already set
    }

    @Test func conditionalTypesOnTheOldEndpointAreRefusedWith4120() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let c = client(url)
        await #expect(throws: ExchangeError.rejected(code: -4120, message: "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")) {
            _ = try await c.request("POST", "/fapi/v1/order", params: [("symbol", "XRPUSDT"), ("side", "SELL"), ("type", "STOP_MARKET"), ("stopPrice", "1.9")],
                                    weight: 1, signed: true, effect: .order)
        }
    }

    @Test func aSkewedClockIsResyncedOnceAfterMinus1021() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        let state = MemoryExchangeState()
        try state.setClockOffset(0, atMs: Int64(Date().timeIntervalSince1970 * 1000))  // a stale "synced" offset
        let c = client(url, state: state, skewMs: 30_000)  // local clock 30 s fast
        _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 1, reduceOnly: false, clientOrderId: "gb-2-E"))
        #expect(await fake.count(path: "/fapi/v1/order") == 2)  // refused once, then accepted with a new timestamp
        // One resync: a single `/time` request, or up to 3 when the loopback answer is slow
        // (over 500 ms on a loaded machine, the client measures again and keeps the fastest).
        #expect((1...3).contains(await fake.count(path: "/fapi/v1/time")))
        #expect(abs((try state.clockOffset()?.offsetMs ?? 0) + 30_000) < 2_000)
    }

    /// A state database whose bookkeeping calls each wait two seconds (a busy SQLite lock).
    final class SlowBookkeepingState: ExchangeStateStore, @unchecked Sendable {
        let inner = MemoryExchangeState()
        let lock = NSLock()
        var waits = 0
        var roundTrips: [Int64] = []
        func wait() {
            lock.withLock { waits += 1 }
            Thread.sleep(forTimeInterval: 2)
        }
        func clockOffset() throws -> (offsetMs: Int64, syncedAtMs: Int64)? { try inner.clockOffset() }
        func setClockOffset(_ offsetMs: Int64, atMs: Int64, roundTripMs: Int64) throws {
            lock.withLock { roundTrips.append(roundTripMs) }
            try inner.setClockOffset(offsetMs, atMs: atMs, roundTripMs: roundTripMs)
        }
        func admit(weight: Int, budget: Int, nowMs: Int64) throws { wait(); try inner.admit(weight: weight, budget: budget, nowMs: nowMs) }
        func recordUsedWeight(_ used: Int, nowMs: Int64) throws { wait(); try inner.recordUsedWeight(used, nowMs: nowMs) }
        func recordBackoff(untilMs: Int64) throws { try inner.recordBackoff(untilMs: untilMs) }
        func recordBan(untilMs: Int64) throws { try inner.recordBan(untilMs: untilMs) }
        func checkBreaker(nowMs: Int64) throws { try inner.checkBreaker(nowMs: nowMs) }
        func recordFailure(reason: String, nowMs: Int64) throws -> Bool { try inner.recordFailure(reason: reason, nowMs: nowMs) }
        func recordSuccess(nowMs: Int64) throws { wait(); try inner.recordSuccess(nowMs: nowMs) }
        func cached(_ key: String, nowMs: Int64) throws -> String? { try inner.cached(key, nowMs: nowMs) }
        func cache(_ key: String, value: String, ttlMs: Int64, nowMs: Int64) throws { try inner.cache(key, value: value, ttlMs: ttlMs, nowMs: nowMs) }
    }

    /// The clock sync's round trip bounds the offset; waits on the state database before the
    /// request is sent or after its answer came back are not part of it. Counted, at least two of
    /// them (admit before, success after) would make it 4 s or more; a loopback answer takes far
    /// less even on a loaded CI machine.
    @Test func databaseWaitsAroundTheTimeRequestDoNotCountInItsRoundTrip() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let state = SlowBookkeepingState()
        let c = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds),
                              credentials: .init(apiKey: FakeBinance.apiKey, secret: FakeBinance.secret), state: state,
                              nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }, sleep: { _ in })
        _ = try await c.clockOffset(force: true)
        let trips = state.lock.withLock { state.roundTrips }
        #expect(trips.count == 1)
        #expect(state.lock.withLock { state.waits } >= 2)
        #expect((trips.first ?? .max) < 4_000, "round trip \(trips) includes the database's waits")
    }

    @Test func rateLimitBanAndBudgetAreRespected() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let state = MemoryExchangeState()
        let c = client(url, state: state)
        await fake.inject(.status429(retryAfterSeconds: 30), on: "/fapi/v1/premiumIndex")
        await #expect(throws: ExchangeError.self) { _ = try await c.markPrice(symbol: "XRPUSDT") }
        // Backing off: the next call is refused locally, nothing reaches the server.
        let before = await fake.count(path: "/fapi/v1/premiumIndex")
        do { _ = try await c.markPrice(symbol: "XRPUSDT"); Issue.record("should back off") } catch ExchangeError.rateLimited { }
        #expect(await fake.count(path: "/fapi/v1/premiumIndex") == before)

        let banState = MemoryExchangeState()
        let banned = client(url, state: banState)
        let until = Int64(Date().timeIntervalSince1970 * 1000) + 120_000
        await fake.inject(.status418(bannedUntilMs: until), on: "/fapi/v1/time")
        await #expect(throws: ExchangeError.banned(untilMs: until)) { _ = try await banned.serverTimeMs() }
        await #expect(throws: ExchangeError.banned(untilMs: until)) { _ = try await banned.serverTimeMs() }
        #expect(await fake.count(path: "/fapi/v1/time") == 1)

        // A budget of 10 weight per minute refuses the 40-weight ticker call before sending it.
        let small = client(url, state: MemoryExchangeState(), budget: 10)
        do { _ = try await small.tickers24h(); Issue.record("over budget") } catch ExchangeError.rateLimited { }
        #expect(await fake.count(path: "/fapi/v1/ticker/24hr") == 0)
    }

    @Test func aTimeoutAfterTheOrderWasAcceptedIsUnknownAndTheOrderIsFoundByItsId() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        await fake.inject(.delayAfterAccept(seconds: 6), on: "/fapi/v1/order")
        let c = client(url, timeout: 3)
        do {
            _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-3-E"))
            Issue.record("expected an unknown outcome")
        } catch ExchangeError.unknownOutcome { }
        #expect(await fake.count(path: "/fapi/v1/order") == 1)  // not resent
        let found = try await c.queryOrder(symbol: "XRPUSDT", clientOrderId: "gb-3-E")
        #expect(found?.isFilled == true)
    }

    @Test func serverErrorsOnOrdersAreUnknownAndOpenTheBreaker() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.inject(.http503Unknown, on: "/fapi/v1/order")
        let state = MemoryExchangeState(breakerThreshold: 2, breakerCooldownMs: 60_000)
        let c = client(url, state: state)
        do {
            _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-4-E"))
            Issue.record("expected unknown")
        } catch ExchangeError.unknownOutcome { }
        await fake.inject(.http503Unavailable, on: "/fapi/v1/time")
        await fake.inject(.http503Unavailable, on: "/fapi/v1/time")
        await #expect(throws: ExchangeError.self) { _ = try await c.serverTimeMs() }
        do { _ = try await c.serverTimeMs(); Issue.record("breaker should be open") } catch ExchangeError.breakerOpen { }
    }

    @Test func aBadSignatureIsRejectedByTheFake() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let wrong = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds),
                                  credentials: .init(apiKey: FakeBinance.apiKey, secret: "not-the-secret"), state: MemoryExchangeState(),
                                  nowMs: { Int64(Date().timeIntervalSince1970 * 1000) })
        await #expect(throws: ExchangeError.rejected(code: -1022, message: "Signature for this request is not valid.")) {
            _ = try await wrong.positions()
        }
    }
}

extension ClientAgainstFakeServerTests {
    @Test func positionModeIsReadAndSetToOneWay() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        let c = client(url)
        #expect(try await c.isHedgeMode())
        try await c.setOneWayMode()
        #expect(try await !c.isHedgeMode())
        try await c.setOneWayMode()  // -4059 "No need to change" is success
    }

    @Test func nearTheOrderRateLimitFurtherRequestsWaitForTheWindow() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        await fake.setMark("XRPUSDT", 2)
        await fake.setOrderCount10s(260)
        let c = client(url)
        _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 1, reduceOnly: false, clientOrderId: "gb-9-E"))
        do {
            _ = try await c.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 1, reduceOnly: false, clientOrderId: "gb-10-E"))
            Issue.record("expected a local back-off")
        } catch ExchangeError.rateLimited { }
        #expect(await fake.count(method: "POST", path: "/fapi/v1/order") == 1)
    }
}
