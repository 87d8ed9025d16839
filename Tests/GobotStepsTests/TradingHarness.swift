import Foundation
import GobotCore
import GobotStore
import PaperExchange
@testable import GobotSteps

/// A process "killed" mid-step: the error escapes before the database records the outcome.
struct SimulatedCrash: Error {}

/// Wraps the paper exchange to inject the failures cron runs meet: a crash right after a
/// request took effect, or a timeout whose order did execute.
final class FaultyExchange: FuturesExchange, @unchecked Sendable {
    enum Fault { case none, crashAfterEntry, timeoutAfterEntry, crashAfterStop, rejectStop }
    let inner: PaperExchange
    var fault: Fault = .none
    var marketOrders = 0

    init(_ inner: PaperExchange) { self.inner = inner }

    func serverTimeMs() async throws -> Int64 { try await inner.serverTimeMs() }
    func symbolRules(symbols: [String]) async throws -> [String: SymbolRules] { try await inner.symbolRules(symbols: symbols) }
    func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int) async throws -> [Candle] {
        try await inner.klines(symbol: symbol, interval: interval, startMs: startMs, limit: limit)
    }
    func tickers24h() async throws -> [Ticker24h] { try await inner.tickers24h() }
    func markPrice(symbol: String) async throws -> Double { try await inner.markPrice(symbol: symbol) }
    func balanceUSDT() async throws -> Double { try await inner.balanceUSDT() }
    func positions() async throws -> [ExchangePosition] { try await inner.positions() }
    func setLeverage(symbol: String, leverage: Int) async throws {}
    func setMarginType(symbol: String, marginType: String) async throws {}
    func ensureOneWayMode() async throws {}
    func placeMarketOrder(_ request: MarketOrderRequest) async throws -> ExchangeOrder {
        let o = try await inner.placeMarketOrder(request)
        marketOrders += 1
        switch fault {
        case .crashAfterEntry: fault = .none; throw SimulatedCrash()
        case .timeoutAfterEntry: fault = .none; throw ExchangeError.unknownOutcome("timeout after 10 s")
        default: return o
        }
    }
    func queryOrder(symbol: String, clientOrderId: String) async throws -> ExchangeOrder? { try await inner.queryOrder(symbol: symbol, clientOrderId: clientOrderId) }
    func openOrders(symbol: String?) async throws -> [ExchangeOrder] { try await inner.openOrders(symbol: symbol) }
    func cancelOrder(symbol: String, clientOrderId: String) async throws { try await inner.cancelOrder(symbol: symbol, clientOrderId: clientOrderId) }
    func placeProtectiveOrder(_ request: ProtectiveOrderRequest) async throws -> AlgoOrder {
        if fault == .rejectStop, request.kind == .stopMarket {
            throw ExchangeError.rejected(code: -2021, message: "Order would immediately trigger.")
        }
        let a = try await inner.placeProtectiveOrder(request)
        if fault == .crashAfterStop, request.kind == .stopMarket { fault = .none; throw SimulatedCrash() }
        return a
    }
    func queryAlgoOrder(clientAlgoId: String) async throws -> AlgoOrder? { try await inner.queryAlgoOrder(clientAlgoId: clientAlgoId) }
    func openAlgoOrders(symbol: String?) async throws -> [AlgoOrder] { try await inner.openAlgoOrders(symbol: symbol) }
    func cancelAlgoOrder(clientAlgoId: String) async throws { try await inner.cancelAlgoOrder(clientAlgoId: clientAlgoId) }
    func userTrades(symbol: String, startMs: Int64, endMs: Int64) async throws -> [UserTrade] {
        try await inner.userTrades(symbol: symbol, startMs: startMs, endMs: endMs)
    }
    func income(startMs: Int64, endMs: Int64) async throws -> [IncomeRecord] { try await inner.income(startMs: startMs, endMs: endMs) }
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
    init(prices: [Double], wick: Double = 0.001, funding: [Int64: Double] = [:]) throws {
        var candles: [Candle] = []
        for (i, p) in prices.enumerated() {
            candles.append(Candle(openTimeMs: Self.t0 + Int64(i) * 60_000, open: p, high: p + wick, low: p - wick, close: p, volume: 1000))
        }
        let market = ReplayMarket(series: ["XRPUSDT": candles], funding: ["XRPUSDT": funding])
        db = try GobotDatabase.inMemory()
        let clock = ManualClock(ms: Self.t0 + 60_000)
        self.clock = clock
        exchange = FaultyExchange(PaperExchange(db: db, market: market, rules: ["XRPUSDT": Self.xrp], feeRate: Decimal(string: "0.0005")!,
                                                initialBalance: 100, nowMs: { clock.nowMs() }))
        var config = GobotConfig()
        config.emergency.killSwitchEnabled = false
        ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock, secrets: Secrets(environment: [:]),
                          step: .trade, exchange: exchange)
        ctx.saveCharts = false
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
