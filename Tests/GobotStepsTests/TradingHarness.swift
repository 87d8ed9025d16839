import Foundation
import GobotCore
import GobotStore
import PaperExchange
@testable import GobotSteps

/// A process "killed" mid-step: the error escapes before the database records the outcome.
struct SimulatedCrash: Error {}

/// Wraps the paper exchange to inject the failures cron runs meet: a crash right after a
/// request took effect, a timeout whose order did or did not execute, refusals, odd statuses,
/// and Binance's limits (7-day history windows).
final class FaultyExchange: FuturesExchange, @unchecked Sendable {
    enum Fault {
        case none, crashAfterEntry, timeoutAfterEntry, crashAfterStop, rejectStop
        /// The entry request timed out before it reached the exchange.
        case entryLostUnsent
        /// The MARKET entry comes back EXPIRED with nothing filled.
        case entryExpired
        /// The stop request timed out before it reached the exchange.
        case stopLostUnsent
        /// The stop was placed but the answer is -4116 (a retry of a request that had arrived).
        case stopDuplicate
        /// The take-profit is refused: price is already beyond it.
        case targetBeyond
        /// The MARKET entry answers PARTIALLY_FILLED (2 of 5) and its look-ups say the same.
        case entryPartlyFilled
        /// The stop is accepted (2xx) but answered already EXPIRED: it protects nothing.
        case stopAnsweredExpired
        /// gobot's own breaker holds the entry back before it is sent.
        case entryHeldBackByTheBreaker
    }
    let inner: PaperExchange
    var fault: Fault = .none
    var marketOrders = 0
    /// Symbols the exchange no longer lists: order queries answer -1121.
    var delisted: Set<String> = []
    /// When set, commissions are charged in BNB at this BNBUSDT price.
    var bnbPrice: Decimal?
    /// Conditional orders reported with another status (e.g. stuck in TRIGGERING) and actualOrderId.
    var algoOverride: [String: (status: String, actualOrderId: String)] = [:]
    /// Every history window asked for, to check Binance's 7-day limit.
    var windows: [(startMs: Int64, endMs: Int64)] = []
    static let sevenDaysMs: Int64 = 7 * 86_400_000

    init(_ inner: PaperExchange) { self.inner = inner }

    func serverTimeMs() async throws -> Int64 { try await inner.serverTimeMs() }
    func symbolRules(symbols: [String]) async throws -> [String: SymbolRules] { try await inner.symbolRules(symbols: symbols) }
    /// Symbols whose kline requests fail with this error (a delisted symbol, an outage).
    var klinesFailures: [String: ExchangeError] = [:]
    /// The symbol of every kline request, in order.
    var klinesAsked: [String] = []
    /// When set, a kline answer holds at most this many candles (a truncated answer).
    var klinesAnswerLimit: Int?
    /// An endpoint that ignores startTime: answers from the start of the data.
    var klinesIgnoreStart = false
    func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int) async throws -> [Candle] {
        klinesAsked.append(symbol)
        if let error = klinesFailures[symbol] { throw error }
        if symbol == "BNBUSDT", let p = bnbPrice?.doubleValue {
            return [Candle(openTimeMs: startMs ?? 0, open: p, high: p, low: p, close: p, volume: 1)]
        }
        let answer = try await inner.klines(symbol: symbol, interval: interval, startMs: klinesIgnoreStart ? TradingHarness.t0 : startMs, limit: limit)
        return Array(answer.prefix(klinesAnswerLimit ?? answer.count))
    }
    func tickers24h() async throws -> [Ticker24h] { try await inner.tickers24h() }
    func markPrice(symbol: String) async throws -> Double { try await inner.markPrice(symbol: symbol) }
    func balanceUSDT() async throws -> Double { try await inner.balanceUSDT() }
    /// The next this many position listings fail (a temporary outage).
    var positionsFailures = 0
    /// Someone adds this quantity by hand right after gobot's entry fills: the exchange then
    /// holds more than gobot recorded.
    var addedByHandAfterEntry: Decimal?
    /// Once the entry is placed, the next this many position listings fail.
    var positionsFailuresAfterEntry = 0
    /// The next this many position listings answer flat (an empty answer during maintenance).
    var flatPositionListings = 0
    func positions() async throws -> [ExchangePosition] {
        if positionsFailures > 0 {
            positionsFailures -= 1
            throw ExchangeError.unavailable("GET /fapi/v3/positionRisk: HTTP 503")
        }
        if flatPositionListings > 0 {
            flatPositionListings -= 1
            return []
        }
        return try await inner.positions()
    }
    func setLeverage(symbol: String, leverage: Int) async throws {}
    func setMarginType(symbol: String, marginType: String) async throws {}
    func ensureOneWayMode() async throws {}
    func placeMarketOrder(_ request: MarketOrderRequest) async throws -> ExchangeOrder {
        switch fault {
        case .entryLostUnsent where !request.reduceOnly:
            fault = .none
            throw ExchangeError.unknownOutcome("POST /fapi/v1/order: timeout")
        case .entryHeldBackByTheBreaker where !request.reduceOnly:
            fault = .none
            throw ExchangeError.breakerOpen(untilMs: 0)
        case .entryExpired where !request.reduceOnly:
            fault = .none
            return ExchangeOrder(symbol: request.symbol, orderId: "9001", clientOrderId: request.clientOrderId, side: request.side, type: "MARKET",
                                 status: "EXPIRED", origQty: request.quantity, executedQty: 0, avgPrice: 0, reduceOnly: false, updateTimeMs: 0)
        default: break
        }
        var o = try await inner.placeMarketOrder(request)
        marketOrders += 1
        if fault == .entryPartlyFilled, !request.reduceOnly {
            o.status = "PARTIALLY_FILLED"
            o.executedQty = 2
            partlyFilled[request.clientOrderId] = o
        }
        if !request.reduceOnly, positionsFailuresAfterEntry > 0 {
            positionsFailures = positionsFailuresAfterEntry
            positionsFailuresAfterEntry = 0
        }
        if !request.reduceOnly, let extra = addedByHandAfterEntry {
            addedByHandAfterEntry = nil
            _ = try await inner.placeMarketOrder(MarketOrderRequest(symbol: request.symbol, side: request.side, quantity: extra,
                                                                    reduceOnly: false, clientOrderId: "web_by_hand"))
        }
        switch fault {
        case .crashAfterEntry: fault = .none; throw SimulatedCrash()
        case .timeoutAfterEntry: fault = .none; throw ExchangeError.unknownOutcome("timeout after 10 s")
        default: return o
        }
    }
    /// Entries the exchange still reports as partly filled.
    var partlyFilled: [String: ExchangeOrder] = [:]
    func queryOrder(symbol: String, clientOrderId: String) async throws -> ExchangeOrder? {
        if delisted.contains(symbol) { throw ExchangeError.rejected(code: -1121, message: "Invalid symbol.") }
        if let o = partlyFilled[clientOrderId] { return o }
        return try await inner.queryOrder(symbol: symbol, clientOrderId: clientOrderId)
    }
    func openOrders(symbol: String?) async throws -> [ExchangeOrder] { try await inner.openOrders(symbol: symbol) }
    func cancelOrder(symbol: String, clientOrderId: String) async throws { try await inner.cancelOrder(symbol: symbol, clientOrderId: clientOrderId) }
    func placeProtectiveOrder(_ request: ProtectiveOrderRequest) async throws -> AlgoOrder {
        if fault == .rejectStop, request.kind == .stopMarket {
            throw ExchangeError.rejected(code: -2021, message: "Order would immediately trigger.")
        }
        if fault == .stopLostUnsent, request.kind == .stopMarket { fault = .none; throw ExchangeError.unknownOutcome("POST /fapi/v1/algoOrder: timeout") }
        if fault == .targetBeyond, request.kind == .takeProfitMarket {
            fault = .none
            throw ExchangeError.rejected(code: -2021, message: "Order would immediately trigger.")
        }
        var a = try await inner.placeProtectiveOrder(request)
        if fault == .stopAnsweredExpired, request.kind == .stopMarket {
            fault = .none
            try await inner.cancelAlgoOrder(clientAlgoId: request.clientAlgoId)
            a.algoStatus = "EXPIRED"
            return a
        }
        if fault == .crashAfterStop, request.kind == .stopMarket { fault = .none; throw SimulatedCrash() }
        if fault == .stopDuplicate, request.kind == .stopMarket { fault = .none; throw ExchangeError.rejected(code: -4116, message: "ClientOrderId is duplicated.") }
        return a
    }
    func overridden(_ a: AlgoOrder) -> AlgoOrder {
        guard let o = algoOverride[a.clientAlgoId] else { return a }
        var a = a
        a.algoStatus = o.status
        a.actualOrderId = o.actualOrderId
        return a
    }
    func queryAlgoOrder(clientAlgoId: String) async throws -> AlgoOrder? { try await inner.queryAlgoOrder(clientAlgoId: clientAlgoId).map(overridden) }
    /// The account-wide listing fails (e.g. an order of someone else's that does not decode).
    var failAccountWideAlgoListing = false
    /// The next this many account-wide listings answer empty (a listing that lags the orders).
    var laggingAlgoListings = 0
    func openAlgoOrders(symbol: String?) async throws -> [AlgoOrder] {
        if symbol == nil, failAccountWideAlgoListing { throw ExchangeError.badResponse(endpoint: "/fapi/v1/openAlgoOrders", reason: "missing triggerPrice at 3") }
        if symbol == nil, laggingAlgoListings > 0 {
            laggingAlgoListings -= 1
            return []
        }
        return try await inner.openAlgoOrders(symbol: symbol).map(overridden)
    }
    /// The next this many conditional-order cancels fail (a passing outage).
    var algoCancelFailures = 0
    func cancelAlgoOrder(clientAlgoId: String) async throws {
        if algoCancelFailures > 0 {
            algoCancelFailures -= 1
            throw ExchangeError.unavailable("DELETE /fapi/v1/algoOrder: HTTP 503")
        }
        try await inner.cancelAlgoOrder(clientAlgoId: clientAlgoId)
    }
    func checkWindow(_ startMs: Int64, _ endMs: Int64) throws {
        windows.append((startMs, endMs))
        if endMs - startMs > Self.sevenDaysMs { throw ExchangeError.rejected(code: -4166, message: "The time between startTime and endTime cannot be longer than 7 days.") }
    }
    func userTrades(symbol: String, fromId: Int64) async throws -> [UserTrade] {
        let extra = extraTrades.filter { $0.symbol == symbol && (Int64($0.id) ?? 0) >= fromId }
        return Array((try await inner.userTrades(symbol: symbol, fromId: fromId) + extra)
            .sorted { (Int64($0.id) ?? 0) < (Int64($1.id) ?? 0) }.prefix(tradesPageLimit ?? 1000))
    }
    /// Fills the paper exchange never made, answered with its own (e.g. more than a page holds).
    var extraTrades: [UserTrade] = []
    /// An endpoint that ignores startTime/endTime and answers every extra fill.
    var tradesIgnoreTimes = false
    /// When set, a userTrades answer holds at most this many fills, oldest first, as Binance's `limit`.
    var tradesPageLimit: Int?
    func userTrades(symbol: String, startMs: Int64, endMs: Int64) async throws -> [UserTrade] {
        try checkWindow(startMs, endMs)
        var answer = try await inner.userTrades(symbol: symbol, startMs: startMs, endMs: endMs)
            + extraTrades.filter { $0.symbol == symbol && (tradesIgnoreTimes || (startMs...endMs).contains($0.timeMs)) }
        if let limit = tradesPageLimit {
            answer = Array(answer.sorted { ($0.timeMs, Int64($0.id) ?? 0) < ($1.timeMs, Int64($1.id) ?? 0) }.prefix(limit))
        }
        return answer.map {
            if let asset = tradeCommissionAsset {
                var t = $0
                t.commissionAsset = asset
                return t
            }
            guard let bnb = bnbPrice else { return $0 }
            var t = $0
            t.commission = $0.commission / bnb
            t.commissionAsset = "BNB"
            return t
        }
    }
    /// When set, fills report their commission in this asset (one gobot cannot value).
    var tradeCommissionAsset: String?
    /// When set, the income history reports commissions in this asset (one gobot cannot value).
    var incomeCommissionAsset: String?
    /// An income endpoint that ignores startTime/endTime and answers from the whole history (it
    /// still pages). Past 50 requests it answers 429, as the rate limit would end a crawl.
    var incomeIgnoresTimes = false
    /// When set, every income request fails with this error.
    var incomeError: ExchangeError?
    /// Shifts the time of commission records (Binance does not document that a COMMISSION
    /// record carries its fill's exact time).
    var incomeCommissionShiftMs: Int64 = 0
    /// When set, rewrites each commission record last (its trade id, its amount).
    var incomeCommissionRewrite: (@Sendable (inout IncomeRecord) -> Void)?
    func income(startMs: Int64, endMs: Int64, page: Int) async throws -> [IncomeRecord] {
        try checkWindow(startMs, endMs)
        if let incomeError { throw incomeError }
        if incomeIgnoresTimes, windows.count > 50 { throw ExchangeError.rateLimited(untilMs: 0) }
        let answer = try await answerIncome(startMs: startMs, endMs: endMs, page: page)
        guard let rewrite = incomeCommissionRewrite else { return answer }
        return answer.map {
            guard $0.incomeType == "COMMISSION" else { return $0 }
            var r = $0
            rewrite(&r)
            return r
        }
    }
    private func answerIncome(startMs: Int64, endMs: Int64, page: Int) async throws -> [IncomeRecord] {
        try await inner.income(startMs: incomeIgnoresTimes ? 0 : startMs, endMs: incomeIgnoresTimes ? .max : endMs, page: page).map {
            if let asset = incomeCommissionAsset, $0.incomeType == "COMMISSION" {
                var r = $0
                r.asset = asset
                r.timeMs += incomeCommissionShiftMs
                return r
            }
            guard let bnb = bnbPrice, $0.incomeType == "COMMISSION" else { return $0 }
            var r = $0
            r.income = $0.income / bnb
            r.asset = "BNB"
            return r
        }
    }
}

/// An in-memory account on the paper exchange with one symbol whose prices a test dictates.
struct TradingHarness {
    static let t0: Int64 = 1_747_699_200_000  // 2025-05-20 00:00 UTC, a funding time
    static let xrp = SymbolRules(symbol: "XRPUSDT", tickSize: Decimal(string: "0.0001")!, stepSize: Decimal(string: "0.1")!,
                                 minQty: Decimal(string: "0.1")!, minNotional: 5)
    let db: GobotDatabase
    let clock: ManualClock
    let exchange: FaultyExchange
    var ctx: StepContext

    /// - Parameter prices: one 1m candle per entry (open = close = price, with `wick` above and below).
    /// `slippageBps` 0 gives round prices for tests about order safety rather than fills.
    init(prices: [Double], wick: Double = 0.001, funding: [Int64: Double] = [:], slippageBps: Decimal = FillRules.defaultSlippageBps) throws {
        var candles: [Candle] = []
        for (i, p) in prices.enumerated() {
            candles.append(Candle(openTimeMs: Self.t0 + Int64(i) * 60_000, open: p, high: p + wick, low: p - wick, close: p, volume: 1000))
        }
        let market = ReplayMarket(series: ["XRPUSDT": candles], funding: ["XRPUSDT": funding])
        db = try GobotDatabase.inMemory()
        let clock = ManualClock(ms: Self.t0 + 60_000)
        self.clock = clock
        exchange = FaultyExchange(PaperExchange(db: db, market: market, rules: ["XRPUSDT": Self.xrp], feeRate: Decimal(string: "0.0005")!,
                                                slippageBps: slippageBps, initialBalance: 100, nowMs: { clock.nowMs() }))
        var config = GobotConfig()
        config.emergency.killSwitchEnabled = false
        ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock, secrets: Secrets(environment: [:]),
                          step: .trade, exchange: exchange)
        ctx.saveCharts = false
        ctx.lookupDelaysMs = [0, 0]  // look-ups still happen three times, without waiting
    }

    func at(minute: Int) { clock.set(Self.t0 + Int64(minute) * 60_000) }

    @discardableResult
    func signal(_ direction: Direction = .long, confidence: Double = 0.8) throws -> Int64 {
        try db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: clock.nowMs(),
                           signal: Signal(direction: direction, confidence: confidence, rationale: "test", model: "test"),
                           referencePrice: 2, chartHashes: [])
    }

    /// What the exchange holds: position amount and open protective order types.
    func exchangeState() async throws -> (amt: Decimal, algos: [String]) {
        let amt = try await exchange.positions().first?.positionAmt ?? 0
        let algos = try await exchange.openAlgoOrders(symbol: nil).map(\.orderType).sorted()
        return (amt, algos)
    }
}
