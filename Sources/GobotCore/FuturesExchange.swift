/// The exchange as the steps see it. Implemented by the Binance client (live and demo) and by
/// the paper exchange (paper trading and backtests), so every step runs against either.
public protocol FuturesExchange: Sendable {
    func serverTimeMs() async throws -> Int64
    func symbolRules(symbols: [String]) async throws -> [String: SymbolRules]
    /// Closed and open klines from `startMs` (inclusive), oldest first.
    func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int) async throws -> [Candle]
    func tickers24h() async throws -> [Ticker24h]
    func markPrice(symbol: String) async throws -> Double

    func balanceUSDT() async throws -> Double
    func positions() async throws -> [ExchangePosition]
    func setLeverage(symbol: String, leverage: Int) async throws
    func setMarginType(symbol: String, marginType: String) async throws
    /// gobot's orders assume one-way mode (one signed position per symbol, closePosition stops).
    func ensureOneWayMode() async throws

    func placeMarketOrder(_ request: MarketOrderRequest) async throws -> ExchangeOrder
    /// The order with this client id, or nil when the exchange does not know it.
    func queryOrder(symbol: String, clientOrderId: String) async throws -> ExchangeOrder?
    func openOrders(symbol: String?) async throws -> [ExchangeOrder]
    func cancelOrder(symbol: String, clientOrderId: String) async throws

    func placeProtectiveOrder(_ request: ProtectiveOrderRequest) async throws -> AlgoOrder
    func queryAlgoOrder(clientAlgoId: String) async throws -> AlgoOrder?
    func openAlgoOrders(symbol: String?) async throws -> [AlgoOrder]
    func cancelAlgoOrder(clientAlgoId: String) async throws

    /// Fills in [startMs, endMs]; Binance answers at most 7 days a query, so callers page by window.
    func userTrades(symbol: String, startMs: Int64, endMs: Int64) async throws -> [UserTrade]
    /// Fills on `symbol` from fill id `fromId` on, oldest first, at most 1000 (Binance takes
    /// `fromId` without times): the way past a millisecond that holds a whole page of fills.
    func userTrades(symbol: String, fromId: Int64) async throws -> [UserTrade]
    /// Income (realized P&L, commission, funding) in [startMs, endMs], at most 7 days a query,
    /// oldest first, `IncomeRecord.pageSize` records a page; `page` counts from 1.
    func income(startMs: Int64, endMs: Int64, page: Int) async throws -> [IncomeRecord]
}

extension FuturesExchange {
    /// The first page of income in [startMs, endMs].
    public func income(startMs: Int64, endMs: Int64) async throws -> [IncomeRecord] {
        try await income(startMs: startMs, endMs: endMs, page: 1)
    }
}
