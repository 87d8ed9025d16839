import Foundation
import GobotCore
import GobotHTTP

/// The Binance USDⓈ-M REST client.
///
/// Every call goes through ``request(_:_:params:weight:signed:effect:unthrottled:)``, which enforces
/// the shared weight budget, bans and back-offs, the circuit breaker, signing with a synced
/// clock (one resync and retry on -1021), and maps every failure to an ``ExchangeError`` that
/// says what may be done next. Order placement is never retried here: an unknown outcome is
/// reported as such and resolved by the caller through the client order id.
public final class BinanceClient: FuturesExchange, @unchecked Sendable {
    public struct Credentials: Sendable {
        public var apiKey: String
        public var secret: String
        public init(apiKey: String, secret: String) { self.apiKey = apiKey; self.secret = secret }
    }

    let baseURL: String
    let transport: any HTTPTransport
    let credentials: Credentials?
    let state: any ExchangeStateStore
    let nowMs: @Sendable () -> Int64
    let recvWindowMs: Int
    let weightBudget: Int
    let sleep: @Sendable (Int64) async -> Void

    public init(baseURL: String, transport: any HTTPTransport, credentials: Credentials?, state: any ExchangeStateStore,
                recvWindowMs: Int = 5000, weightBudget: Int = 1200, nowMs: @escaping @Sendable () -> Int64,
                sleep: @escaping @Sendable (Int64) async -> Void = { ms in try? await Task.sleep(nanoseconds: UInt64(max(ms, 0)) * 1_000_000) }) {
        self.baseURL = baseURL
        self.transport = transport
        self.credentials = credentials
        self.state = state
        self.recvWindowMs = recvWindowMs
        self.weightBudget = weightBudget
        self.nowMs = nowMs
        self.sleep = sleep
    }

    // MARK: the request pipeline

    /// What a request does, which decides how its failures are read and what may hold it back.
    enum Effect: Sendable, Equatable {
        /// Reads and settings: safe to repeat, keep-alive connections, one retry after a blip.
        case read
        /// Places or cancels an order: sent once on a connection of its own; any failure after it
        /// may have left is `unknownOutcome`.
        case order
        /// A stop, target, their cancellation or a reduce-only close: like `order`, but not held
        /// back by gobot's own weight budget or breaker (Binance charges orders no IP weight, and
        /// the used-weight header counts every process on the IP). A 418 ban and a 429
        /// back-off still hold.
        case protectiveOrder

        var changesOrders: Bool { self != .read }
    }

    func request(_ method: String, _ path: String, params: [(String, String)] = [], weight: Int, signed: Bool,
                 effect: Effect = .read, unthrottled: Bool = false) async throws -> Data {
        try await timedRequest(method, path, params: params, weight: weight, signed: signed, effect: effect, unthrottled: unthrottled).body
    }

    /// `request`, with the host times just before the request was handed to the transport and
    /// just after its answer came back: the clock sync's round trip, without the database waits
    /// (weight budget, bookkeeping) around it, which would loosen its bound.
    func timedRequest(_ method: String, _ path: String, params: [(String, String)] = [], weight: Int, signed: Bool,
                      effect: Effect = .read, unthrottled: Bool = false) async throws -> (body: Data, sentAtMs: Int64, answeredAtMs: Int64) {
        let protective = effect == .protectiveOrder || unthrottled
        if !protective { try state.checkBreaker(nowMs: nowMs()) }
        var resynced = false
        var retriedUnavailable = false
        while true {
            // Weight 0 against no budget: only the ban and the back-off are checked.
            if protective {
                // The ban and the back-off hold for protection too, but a database that cannot be
                // written (a full disk) must not keep a stop from being placed.
                do { try state.admit(weight: 0, budget: .max, nowMs: nowMs()) } catch let e as ExchangeError { throw e } catch {}
            } else {
                try state.admit(weight: weight, budget: weightBudget, nowMs: nowMs())
            }
            var query = params
            var headers: [String: String] = [:]
            if signed {
                guard let credentials else { throw ExchangeError.notConfigured("BINANCE_API_KEY and BINANCE_API_SECRET are needed for \(path)") }
                let offset = try await clockOffset(force: false, protective: protective)
                query += [("recvWindow", String(recvWindowMs)), ("timestamp", String(nowMs() + offset))]
                let payload = QueryString.encode(query)
                query.append(("signature", RequestSigner(secret: credentials.secret).signature(for: payload)))
                headers["X-MBX-APIKEY"] = credentials.apiKey
            } else if let credentials {
                headers["X-MBX-APIKEY"] = credentials.apiKey
            }
            let qs = QueryString.encode(query)
            let url = qs.isEmpty ? "\(baseURL)\(path)" : "\(baseURL)\(path)?\(qs)"
            let response: HTTPResponseData
            let sentAt = nowMs()
            do {
                response = try await transport.send(HTTPRequestData(method: method, url: url, headers: headers, mustNotResend: effect.changesOrders))
            } catch let error as TransportError {
                // Bookkeeping must not turn an order's "unknown" into a database error the caller
                // does not look up: on orders it is best-effort.
                let opened = effect.changesOrders ? ((try? state.recordFailure(reason: error.description, nowMs: nowMs())) ?? false)
                    : try state.recordFailure(reason: error.description, nowMs: nowMs())
                // Reset, EOF, timeout, TLS failure: the order may have reached the exchange.
                if effect.changesOrders, !error.provesNothingSent { throw ExchangeError.unknownOutcome("\(method) \(path): \(error)") }
                if !effect.changesOrders, !retriedUnavailable, !opened {
                    retriedUnavailable = true
                    await sleep(250)
                    continue
                }
                throw ExchangeError.unavailable("\(method) \(path): \(error)")
            }
            let answeredAt = nowMs()
            // From here an order has an answer: a database that cannot record the bookkeeping
            // (busy, full) must not lose it, so on orders these writes are best-effort.
            func note(_ write: () throws -> Void) throws {
                if effect.changesOrders { try? write() } else { try write() }
            }
            if let used = response.headers["x-mbx-used-weight-1m"].flatMap(Int.init) {
                try note { try state.recordUsedWeight(used, nowMs: nowMs()) }
            }
            // Order-rate limits are per account (300 / 10 s, 1200 / min): stop placing orders
            // well before them, until the window rolls over.
            if let c10 = response.headers["x-mbx-order-count-10s"].flatMap(Int.init), c10 >= 250 {
                try note { try state.recordBackoff(untilMs: (nowMs() / 10_000 + 1) * 10_000) }
            }
            if let c1m = response.headers["x-mbx-order-count-1m"].flatMap(Int.init), c1m >= 1000 {
                try note { try state.recordBackoff(untilMs: (nowMs() / 60_000 + 1) * 60_000) }
            }
            if (200..<300).contains(response.status) {
                try note { try state.recordSuccess(nowMs: nowMs()) }
                return (response.body, sentAt, answeredAt)
            }
            let apiError = try? JSONDecoder().decode(BinanceResponses.APIError.self, from: response.body)
            if response.status >= 500 || response.status == 408 {
                try note { _ = try state.recordFailure(reason: "HTTP \(response.status)", nowMs: nowMs()) }
            }
            switch (response.status, apiError?.code) {
            case (418, _):
                let until = Self.banUntil(apiError?.msg) ?? (nowMs() + 120_000)
                try note { try state.recordBan(untilMs: until) }
                throw ExchangeError.banned(untilMs: until)
            case (429, _):
                let retryAfter = response.headers["retry-after"].flatMap(Int64.init).map { nowMs() + $0 * 1000 }
                let until = retryAfter ?? (nowMs() / 60_000 + 1) * 60_000
                try note { try state.recordBackoff(untilMs: until) }
                throw ExchangeError.rateLimited(untilMs: until)
            case (_, .some(-1021)), (_, .some(-5028)):
                guard !resynced else { throw ExchangeError.rejected(code: apiError?.code ?? -1021, message: apiError?.msg ?? "") }
                resynced = true
                _ = try await clockOffset(force: true, protective: protective)
                continue
            case (_, .some(-1007)), (_, .some(-1006)), (_, .some(-1000)):
                // -1000 UNKNOWN: "an unknown error occurred while processing the request".
                if effect.changesOrders { throw ExchangeError.unknownOutcome("\(path): \(apiError?.code ?? 0) \(apiError?.msg ?? "")") }
                throw ExchangeError.unavailable("\(path): \(apiError?.msg ?? "")")
            case (_, .some(-1001)), (_, .some(-1008)):
                throw ExchangeError.unavailable("\(path): \(apiError?.code ?? 0) \(apiError?.msg ?? "")")
            case (408, _), (500..<600, _):
                let message = apiError?.msg ?? String(decoding: response.body.prefix(120), as: UTF8.self)
                // A 5xx or 408 on an order may hide an order that executed.
                if effect.changesOrders { throw ExchangeError.unknownOutcome("\(path): HTTP \(response.status) \(message)") }
                throw ExchangeError.unavailable("\(path): HTTP \(response.status) \(message)")
            case (_, .some(let code)):
                throw ExchangeError.rejected(code: code, message: apiError?.msg ?? "")
            default:
                // Not Binance's error body (a proxy page, an empty answer): nothing definite about an order.
                if effect.changesOrders { throw ExchangeError.unknownOutcome("\(path): HTTP \(response.status) without an error body") }
                throw ExchangeError.badResponse(endpoint: path, reason: "HTTP \(response.status) without an error body")
            }
        }
    }

    static func banUntil(_ message: String?) -> Int64? {
        guard let message, let range = message.range(of: "until ") else { return nil }
        return Int64(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// The offset added to the local clock for `timestamp`, synced once an hour or on -1021.
    /// A protective order's sync is not held back by the breaker or the weight budget either.
    func clockOffset(force: Bool, protective: Bool = false) async throws -> Int64 {
        if !force, let saved = try state.clockOffset(), nowMs() - saved.syncedAtMs < 3_600_000 { return saved.offsetMs }
        // The server stamped its time while the request was in flight. Measuring from t1 keeps our
        // timestamps at or behind the server's, never more than 1 s ahead (which it rejects);
        // being behind by the round trip is what recvWindow allows for. A slow round trip is
        // measured again (up to 3 times) and the fastest kept: it bounds the offset tightest.
        var best: (offset: Int64, at: Int64, roundTrip: Int64)?
        for _ in 0..<3 {
            let (data, t0, t1) = try await timedRequest("GET", "/fapi/v1/time", weight: 1, signed: false, unthrottled: protective)
            let server = try decode(BinanceResponses.ServerTime.self, data, "/fapi/v1/time").serverTime
            let sample = (offset: server - t1, at: t1, roundTrip: max(0, t1 - t0))
            if best == nil || sample.roundTrip < best!.roundTrip { best = sample }
            if best!.roundTrip <= Self.tightRoundTripMs { break }
        }
        let b = best!
        try state.setClockOffset(b.offset, atMs: b.at, roundTripMs: b.roundTrip)
        return b.offset
    }

    /// A `/time` round trip this short bounds the offset well enough; a longer one is measured again.
    static let tightRoundTripMs: Int64 = 500

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, _ endpoint: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw ExchangeError.badResponse(endpoint: endpoint, reason: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx): "missing \(key.stringValue) at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let ctx): "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)"
        case DecodingError.valueNotFound(_, let ctx): "null at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let ctx): "not valid JSON: \(ctx.debugDescription)"
        default: String(describing: error).prefix(200).description
        }
    }

    // MARK: market data

    public func serverTimeMs() async throws -> Int64 {
        try decode(BinanceResponses.ServerTime.self, try await request("GET", "/fapi/v1/time", weight: 1, signed: false), "/fapi/v1/time").serverTime
    }

    /// Cached for an hour: filters change rarely and exchangeInfo is large.
    public func symbolRules(symbols: [String]) async throws -> [String: SymbolRules] {
        let all: [String: SymbolRules]
        if let cached = try state.cached("exchangeInfo.rules", nowMs: nowMs()),
           let rules = try? JSONDecoder().decode([String: SymbolRules].self, from: Data(cached.utf8)) {
            all = rules
        } else {
            let info = try ExchangeInfoDecoder.decode(try await request("GET", "/fapi/v1/exchangeInfo", weight: 1, signed: false))
            all = info.rules
            if let json = try? JSONEncoder().encode(all) {
                try state.cache("exchangeInfo.rules", value: String(decoding: json, as: UTF8.self), ttlMs: 3_600_000, nowMs: nowMs())
            }
        }
        return symbols.isEmpty ? all : all.filter { symbols.contains($0.key) }
    }

    public func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int) async throws -> [Candle] {
        var params = [("symbol", symbol), ("interval", interval.rawValue), ("limit", String(limit))]
        if let startMs { params.append(("startTime", String(startMs))) }
        let weight = limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10
        return try BinanceResponses.klines(try await request("GET", "/fapi/v1/klines", params: params, weight: weight, signed: false),
                                           endpoint: "/fapi/v1/klines")
    }

    public func tickers24h() async throws -> [Ticker24h] {
        let data = try await request("GET", "/fapi/v1/ticker/24hr", weight: 40, signed: false)
        return try decode([BinanceResponses.Ticker].self, data, "/fapi/v1/ticker/24hr").compactMap {
            guard let p = Decimal(exchangeString: $0.lastPrice), let q = Decimal(exchangeString: $0.quoteVolume),
                  let c = Decimal(exchangeString: $0.priceChangePercent) else { return nil }
            return Ticker24h(symbol: $0.symbol, lastPrice: p, quoteVolume: q, priceChangePercent: c)
        }
    }

    /// Mark price, shared for 5 s through the database so steps in the same minute reuse it.
    public func markPrice(symbol: String) async throws -> Double {
        let key = "mark.\(symbol)"
        if let cached = try state.cached(key, nowMs: nowMs()), let v = Double(cached) { return v }
        let data = try await request("GET", "/fapi/v1/premiumIndex", params: [("symbol", symbol)], weight: 1, signed: false)
        let p = try decode(BinanceResponses.PremiumIndex.self, data, "/fapi/v1/premiumIndex")
        guard let v = Double(p.markPrice) else { throw ExchangeError.badResponse(endpoint: "/fapi/v1/premiumIndex", reason: "markPrice \(p.markPrice)") }
        try state.cache(key, value: p.markPrice, ttlMs: 5_000, nowMs: nowMs())
        return v
    }

    // MARK: account

    public func balanceUSDT() async throws -> Double {
        let rows = try decode([BinanceResponses.Balance].self, try await request("GET", "/fapi/v3/balance", weight: 5, signed: true), "/fapi/v3/balance")
        // No USDT row: the account holds no USDT. A row whose balance does not read is an error,
        // never a silent 0.
        guard let row = rows.first(where: { $0.asset == "USDT" }) else { return 0 }
        guard let balance = Double(row.balance), balance.isFinite else {
            throw ExchangeError.badResponse(endpoint: "/fapi/v3/balance", reason: "USDT balance \"\(row.balance)\" is not a number")
        }
        return balance
    }

    public func positions() async throws -> [ExchangePosition] {
        let ep = "/fapi/v3/positionRisk"
        return try decode([BinanceResponses.Position].self, try await request("GET", ep, weight: 5, signed: true), ep).compactMap { p in
            let amt = try BinanceResponses.decimal(p.positionAmt, "positionAmt", ep)
            guard amt != 0 else { return nil }
            return ExchangePosition(symbol: p.symbol, positionAmt: amt, entryPrice: try BinanceResponses.decimal(p.entryPrice, "entryPrice", ep),
                                    markPrice: Decimal(exchangeString: p.markPrice ?? "0") ?? 0,
                                    unrealizedProfit: Decimal(exchangeString: p.unRealizedProfit ?? "0") ?? 0)
        }
    }

    public func setLeverage(symbol: String, leverage: Int) async throws {
        _ = try await request("POST", "/fapi/v1/leverage", params: [("symbol", symbol), ("leverage", String(leverage))], weight: 1, signed: true)
    }

    /// True in hedge mode (two positions per symbol). gobot trades one-way mode only.
    public func isHedgeMode() async throws -> Bool {
        struct Mode: Decodable { var dualSidePosition: Bool }
        let data = try await request("GET", "/fapi/v1/positionSide/dual", weight: 30, signed: true)
        return try decode(Mode.self, data, "/fapi/v1/positionSide/dual").dualSidePosition
    }

    public func ensureOneWayMode() async throws {
        if try await isHedgeMode() { try await setOneWayMode() }
    }

    /// Switches the account to one-way mode; -4059 means it already is.
    public func setOneWayMode() async throws {
        do {
            _ = try await request("POST", "/fapi/v1/positionSide/dual", params: [("dualSidePosition", "false")], weight: 1, signed: true)
        } catch ExchangeError.rejected(code: -4059, _) {
        }
    }

    public func setMarginType(symbol: String, marginType: String) async throws {
        do {
            _ = try await request("POST", "/fapi/v1/marginType", params: [("symbol", symbol), ("marginType", marginType)], weight: 1, signed: true)
        } catch ExchangeError.rejected(code: -4046, _) {
            // "No need to change margin type": already as wanted.
        }
    }

    // MARK: regular orders

    public func placeMarketOrder(_ r: MarketOrderRequest) async throws -> ExchangeOrder {
        var params = [("symbol", r.symbol), ("side", r.side.rawValue), ("type", "MARKET"), ("quantity", r.quantity.plainString)]
        if r.reduceOnly { params.append(("reduceOnly", "true")) }
        params += [("newClientOrderId", r.clientOrderId), ("newOrderRespType", "RESULT")]
        // A reduce-only close only ever shrinks a position: it is protection, not new risk.
        let data = try await request("POST", "/fapi/v1/order", params: params, weight: 1, signed: true, effect: r.reduceOnly ? .protectiveOrder : .order)
        return try answerToOrder("/fapi/v1/order") {
            try BinanceResponses.order(try decode(BinanceResponses.Order.self, data, "/fapi/v1/order"), endpoint: "/fapi/v1/order")
        }
    }

    public func queryOrder(symbol: String, clientOrderId: String) async throws -> ExchangeOrder? {
        do {
            let data = try await request("GET", "/fapi/v1/order", params: [("symbol", symbol), ("origClientOrderId", clientOrderId)], weight: 1, signed: true)
            return try BinanceResponses.order(try decode(BinanceResponses.Order.self, data, "/fapi/v1/order"), endpoint: "/fapi/v1/order")
        } catch ExchangeError.rejected(code: -2013, _) {
            return nil
        }
    }

    public func openOrders(symbol: String?) async throws -> [ExchangeOrder] {
        let data = try await request("GET", "/fapi/v1/openOrders", params: symbol.map { [("symbol", $0)] } ?? [], weight: symbol == nil ? 40 : 1, signed: true)
        return try decode([BinanceResponses.Order].self, data, "/fapi/v1/openOrders").map { try BinanceResponses.order($0, endpoint: "/fapi/v1/openOrders") }
    }

    public func cancelOrder(symbol: String, clientOrderId: String) async throws {
        _ = try await request("DELETE", "/fapi/v1/order", params: [("symbol", symbol), ("origClientOrderId", clientOrderId)], weight: 1, signed: true,
                              effect: .order)
    }

    // MARK: algo (conditional) orders, /fapi/v1/algoOrder since 2025-12-09

    public func placeProtectiveOrder(_ r: ProtectiveOrderRequest) async throws -> AlgoOrder {
        let params = [("algoType", "CONDITIONAL"), ("symbol", r.symbol), ("side", r.side.rawValue), ("type", r.kind.rawValue),
                      ("triggerPrice", r.triggerPrice.plainString), ("closePosition", "true"), ("workingType", "MARK_PRICE"),
                      ("priceProtect", "true"), ("clientAlgoId", r.clientAlgoId)]
        let data = try await request("POST", "/fapi/v1/algoOrder", params: params, weight: 1, signed: true, effect: .protectiveOrder)
        return try answerToOrder("/fapi/v1/algoOrder") {
            try BinanceResponses.algo(try decode(BinanceResponses.Algo.self, data, "/fapi/v1/algoOrder"), endpoint: "/fapi/v1/algoOrder", placed: r)
        }
    }

    public func queryAlgoOrder(clientAlgoId: String) async throws -> AlgoOrder? {
        do {
            let data = try await request("GET", "/fapi/v1/algoOrder", params: [("clientAlgoId", clientAlgoId)], weight: 1, signed: true)
            return try BinanceResponses.algo(try decode(BinanceResponses.Algo.self, data, "/fapi/v1/algoOrder"), endpoint: "/fapi/v1/algoOrder")
        } catch let ExchangeError.rejected(code, _) where code == -2013 || code == -20124 {
            return nil
        }
    }

    public func openAlgoOrders(symbol: String?) async throws -> [AlgoOrder] {
        let data = try await request("GET", "/fapi/v1/openAlgoOrders", params: symbol.map { [("symbol", $0)] } ?? [],
                                     weight: symbol == nil ? 40 : 1, signed: true)
        return try BinanceResponses.algos(try decode([BinanceResponses.Algo].self, data, "/fapi/v1/openAlgoOrders"), endpoint: "/fapi/v1/openAlgoOrders")
    }

    public func cancelAlgoOrder(clientAlgoId: String) async throws {
        // Cancels the sibling of a filled stop or target: protection, so no local limit holds it back.
        _ = try await request("DELETE", "/fapi/v1/algoOrder", params: [("clientAlgoId", clientAlgoId)], weight: 1, signed: true, effect: .protectiveOrder)
    }

    /// A 2xx to an order request whose body does not read is no definite answer: the order may
    /// exist in any state. Look it up by client id.
    func answerToOrder<T>(_ endpoint: String, _ read: () throws -> T) throws -> T {
        do { return try read() } catch let ExchangeError.badResponse(_, reason) {
            throw ExchangeError.unknownOutcome("\(endpoint): 2xx that does not read (\(reason))")
        }
    }

    // MARK: history

    /// The longest window Binance answers for userTrades (and gobot's paging step for income).
    public static let maxHistoryWindowMs: Int64 = 7 * 86_400_000

    /// Refuses a window Binance would reject, or one upside down, before anything is sent.
    static func checkWindow(_ endpoint: String, _ startMs: Int64, _ endMs: Int64) throws {
        guard startMs <= endMs, endMs - startMs <= maxHistoryWindowMs else {
            throw ExchangeError.invalidRequest("\(endpoint) window \(startMs)...\(endMs) ms must run forward and span at most 7 days; page it")
        }
    }

    public func userTrades(symbol: String, startMs: Int64, endMs: Int64) async throws -> [UserTrade] {
        let ep = "/fapi/v1/userTrades"
        try Self.checkWindow(ep, startMs, endMs)
        let data = try await request("GET", ep, params: [("symbol", symbol), ("startTime", String(startMs)), ("endTime", String(endMs)), ("limit", "1000")],
                                     weight: 5, signed: true)
        return try decodeTrades(data, ep)
    }

    func decodeTrades(_ data: Data, _ ep: String) throws -> [UserTrade] {
        try decode([BinanceResponses.Trade].self, data, ep).map {
            UserTrade(id: String($0.id), symbol: $0.symbol, orderId: String($0.orderId), side: try BinanceResponses.side($0.side, ep),
                      price: try BinanceResponses.decimal($0.price, "price", ep), qty: try BinanceResponses.decimal($0.qty, "qty", ep),
                      realizedPnl: try BinanceResponses.decimal($0.realizedPnl, "realizedPnl", ep),
                      commission: try BinanceResponses.decimal($0.commission, "commission", ep), commissionAsset: $0.commissionAsset, timeMs: $0.time)
        }
    }

    public func userTrades(symbol: String, fromId: Int64) async throws -> [UserTrade] {
        let ep = "/fapi/v1/userTrades"
        let data = try await request("GET", ep, params: [("symbol", symbol), ("fromId", String(fromId)), ("limit", "1000")], weight: 5, signed: true)
        return try decodeTrades(data, ep)
    }

    public func income(startMs: Int64, endMs: Int64, page: Int) async throws -> [IncomeRecord] {
        let ep = "/fapi/v1/income"
        try Self.checkWindow(ep, startMs, endMs)
        guard page >= 1 else { throw ExchangeError.invalidRequest("\(ep): page \(page) (pages count from 1)") }
        var params = [("startTime", String(startMs)), ("endTime", String(endMs)), ("limit", String(IncomeRecord.pageSize))]
        if page > 1 { params.append(("page", String(page))) }
        let data = try await request("GET", ep, params: params, weight: 30, signed: true)
        return try decode([BinanceResponses.Income].self, data, ep).map { try BinanceResponses.income($0, ep) }
    }
}

extension BinanceClient {
    /// The funding rate of the event in the hour starting at `fundingTimeMs`, if there was one.
    /// A rate that is not a number, or a record outside the hour asked for, is a bad answer,
    /// never "no funding" (the paper books would settle past that mark without it).
    public func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? {
        let data = try await request("GET", "/fapi/v1/fundingRate", params: [("symbol", symbol), ("startTime", String(fundingTimeMs)),
                                                                           ("endTime", String(fundingTimeMs + 3_600_000)), ("limit", "1")],
                                     weight: 1, signed: false)
        return try BinanceResponses.fundingRate(data, symbol: symbol, fromMs: fundingTimeMs, toMs: fundingTimeMs + 3_600_000)
    }
}
