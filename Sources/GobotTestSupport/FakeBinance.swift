import BinanceFutures
import Digest
import FlyingFox
import FlyingSocks
import Foundation
import GobotCore

/// A loopback Binance USDⓈ-M server for tests. It checks what the real one checks (API key,
/// HMAC signature over the exact query, the timestamp window, required parameters), keeps
/// orders, algo orders and positions, and can inject the faults cron runs meet.
public actor FakeBinance {
    public enum Fault: Sendable, Equatable {
        /// Accept the request (the order exists) but answer only after the client gave up.
        case delayAfterAccept(seconds: Double)
        case status429(retryAfterSeconds: Int)
        /// Answer with this Binance error body, nothing executed.
        case binanceError(status: Int, code: Int, message: String)
        case status418(bannedUntilMs: Int64)
        case timestampOutsideWindow
        case http503Unknown
        case http503Unavailable
        /// Execute the request, then close the connection without a byte of answer: what a
        /// load balancer or a dying keep-alive connection does. libcurl re-sends such a request
        /// when the connection was a reused one.
        case executeThenDrop
        /// Execute the request and answer 200 with a body that is not the documented JSON.
        case undecodable2xx
        /// Answer `status` with a proxy's HTML page instead of Binance's error body, without
        /// saying whether the request reached the exchange (here: it did not).
        case proxyPage(status: Int)

        /// Faults that shape the answer of a request the exchange executed.
        var afterExecution: Bool {
            switch self {
            case .delayAfterAccept, .executeThenDrop, .undecodable2xx: true
            default: false
            }
        }
    }

    /// The longest startTime–endTime window userTrades answers; gobot pages income the same way.
    public static let maxHistoryWindowMs: Int64 = 7 * 86_400_000

    public static let apiKey = "fake-api-key-0123456789abcdef"
    public static let secret = "fake-secret-0123456789abcdef0123456789"

    let server: HTTPServer
    public private(set) var port: UInt16 = 0
    var task: Task<Void, any Error>?

    public var serverTimeOffsetMs: Int64 = 0
    public var marks: [String: Decimal] = [:]
    public var usedWeight = 0
    var faults: [(path: String, method: String?, fault: Fault)] = []
    public private(set) var requests: [(method: String, path: String, query: [String: String])] = []
    var executed: [(method: String, path: String)] = []
    var orders: [String: [String: String]] = [:]      // clientOrderId → order fields
    var algos: [String: [String: String]] = [:]       // clientAlgoId → algo fields
    public private(set) var positions: [String: Decimal] = [:]
    var entryPrices: [String: Decimal] = [:]
    var trades: [[String: Any]] = []
    var income: [[String: Any]] = []
    var manualAlgos: [[String: Any]] = []
    var tickers: [[String: Any]] = []
    var nextId: Int64 = 1000
    public var exchangeInfo: Data = Data()
    public var takerFee: Decimal = Decimal(string: "0.0005")!
    public private(set) var commissionAsset = "USDT"
    public private(set) var commissionAssetPriceUSDT: Decimal = 1
    /// Commission paid in another asset from now on, e.g. `("BNB", 600)` for the BNB fee discount.
    public func payCommission(in asset: String, priceUSDT: Decimal) { commissionAsset = asset; commissionAssetPriceUSDT = priceUSDT }
    public var hedgeMode = true
    public var orderCount10s = 0

    public init() throws {
        server = try LoopbackHTTP.makeServer()
    }

    public func start() async throws -> String {
        let started = try await LoopbackHTTP.start(server) { [weak self] request in
            guard let self else { return HTTPResponse(statusCode: .internalServerError) }
            return await self.handle(request)
        }
        task = started.task
        port = started.port
        return started.url
    }

    public func stop() async {
        await server.stop()
        task?.cancel()
    }

    /// Arms `fault` for the next request to `path` (and `method`, when given).
    public func inject(_ fault: Fault, on path: String, method: String? = nil) { faults.append((path, method, fault)) }

    /// History served by the public kline, mark-price kline and funding-rate endpoints.
    var klineHistory: [String: [Candle]] = [:]
    var markHistory: [String: [Candle]] = [:]
    var fundingHistory: [String: [(timeMs: Int64, rate: String)]] = [:]
    public func setHistory(_ symbol: String, klines: [Candle], marks: [Candle] = [], funding: [(timeMs: Int64, rate: String)] = []) {
        klineHistory[symbol] = klines
        markHistory[symbol] = marks
        fundingHistory[symbol] = funding
    }
    public func setExchangeInfo(_ data: Data) { exchangeInfo = data }
    public func setOrderCount10s(_ n: Int) { orderCount10s = n }

    /// Fills an open conditional order as the exchange would while gobot is not running:
    /// the position closes at the trigger price with a trade, realized P&L and commission.
    public func trigger(_ clientAlgoId: String) {
        guard var a = algos[clientAlgoId], a["algoStatus"] == "NEW", let symbol = a["symbol"],
              let price = Decimal(string: a["triggerPrice"] ?? "") else { return }
        let amt = positions[symbol] ?? 0
        a["algoStatus"] = "FINISHED"
        nextId += 1
        a["actualOrderId"] = String(nextId)
        algos[clientAlgoId] = a
        guard amt != 0 else { return }
        fill(symbol: symbol, side: amt > 0 ? "SELL" : "BUY", qty: abs(amt), price: price, orderId: nextId)
    }

    /// Books a funding payment on a symbol's position (negative = paid).
    public func addFunding(symbol: String, amount: Decimal) {
        nextId += 1
        income.append(["symbol": symbol, "incomeType": "FUNDING_FEE", "income": "\(amount)", "asset": "USDT", "time": nowMs(), "tranId": nextId, "info": "", "tradeId": ""])
    }

    /// `count` income records of `type` and `amount` each, all stamped with the same millisecond
    /// (more than a page of them tests paging where the time cursor cannot move).
    /// An income endpoint that answers page 1 whatever `page` asks (a broken proxy, a changed API).
    public var incomeIgnoresPage = false
    public func setIncomeIgnoresPage(_ on: Bool) { incomeIgnoresPage = on }

    public func addIncome(symbol: String, type: String, amount: Decimal, atMs: Int64, count: Int) {
        for _ in 0..<count {
            nextId += 1
            income.append(["symbol": symbol, "incomeType": type, "income": "\(amount)", "asset": "USDT", "time": atMs, "tranId": nextId, "info": ""])
        }
    }

    func fill(symbol: String, side: String, qty: Decimal, price: Decimal, orderId: Int64) {
        let amt = positions[symbol] ?? 0
        let signed = side == "BUY" ? qty : -qty
        var realized: Decimal = 0
        if amt != 0 && (amt > 0) != (signed > 0) {
            realized = (price - (entryPrices[symbol] ?? price)) * min(abs(amt), qty) * (amt > 0 ? 1 : -1)
        } else {
            entryPrices[symbol] = price
        }
        positions[symbol] = amt + signed
        // Paid in the commission asset at its USDT price (BNB fee discount: about 1/600 of the USDT figure).
        let commission = price * qty * takerFee / commissionAssetPriceUSDT
        nextId += 1
        let now = nowMs()
        trades.append(["id": nextId, "symbol": symbol, "orderId": orderId, "side": side, "price": "\(price)", "qty": "\(qty)",
                       "realizedPnl": "\(realized)", "commission": "\(commission)", "commissionAsset": commissionAsset, "time": now])
        // As Binance: a fill's income records name it by `tradeId`, a string.
        if realized != 0 {
            income.append(["symbol": symbol, "incomeType": "REALIZED_PNL", "income": "\(realized)", "asset": "USDT", "time": now, "tranId": nextId, "info": "",
                           "tradeId": String(nextId)])
        }
        income.append(["symbol": symbol, "incomeType": "COMMISSION", "income": "\(-commission)", "asset": commissionAsset, "time": now, "tranId": nextId + 500_000,
                       "info": "", "tradeId": String(nextId)])
    }
    public func setMark(_ symbol: String, _ price: Decimal) { marks[symbol] = price }
    /// 24-hour tickers as (symbol, last price, quote volume); klines answer empty.
    public func setTickers(_ rows: [(symbol: String, lastPrice: Decimal, quoteVolume: Decimal)]) {
        tickers = rows.map { ["symbol": $0.symbol, "lastPrice": "\($0.lastPrice)", "quoteVolume": "\($0.quoteVolume)", "priceChangePercent": "0.5"] }
    }
    public func order(_ clientId: String) -> [String: String]? { orders[clientId] }
    public func algo(_ clientId: String) -> [String: String]? { algos[clientId] }
    public func count(path: String) -> Int { requests.filter { $0.path == path }.count }
    public func count(method: String, path: String) -> Int { requests.filter { $0.path == path && $0.method == method }.count }
    /// Requests that passed the signature and timestamp checks and were executed. On a loaded
    /// machine a request can reach the fake after its recvWindow: that -1021 is a definite refusal,
    /// the client re-signs and sends again, and only the second one executes.
    public func executedCount(method: String, path: String) -> Int { executed.filter { $0.path == path && $0.method == method }.count }

    func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) + serverTimeOffsetMs }

    static func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        var h = HTTPHeaders()
        h[HTTPHeader("Content-Type")] = "application/json"
        for (k, v) in headers { h[HTTPHeader(k)] = v }
        return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: status == 200 ? "OK" : "Error"), headers: h, body: data)
    }

    static func error(_ status: Int, _ code: Int, _ msg: String) -> HTTPResponse { json(status, ["code": code, "msg": msg]) }

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        let rawQuery = request.target.query()
        let params = Dictionary(QueryString.decode(rawQuery), uniquingKeysWith: { a, _ in a })
        requests.append((request.method.rawValue, path, params))
        usedWeight += 1
        let weightHeader = ["X-MBX-USED-WEIGHT-1M": String(usedWeight)]

        var delay: Double?
        var after: Fault?
        let matches = { (f: (path: String, method: String?, fault: Fault)) in f.path == path && (f.method == nil || f.method == request.method.rawValue) }
        // Faults of an executed request wait for it to pass the signature and timestamp checks: a
        // request refused there (-1021 on a loaded machine) was not executed and must not use them up.
        if let i = faults.firstIndex(where: matches), !faults[i].fault.afterExecution {
            let fault = faults.remove(at: i).fault
            switch fault {
            case .status429(let s): return Self.json(429, ["code": -1003, "msg": "Too many requests; current limit is 2400 requests per minute."], headers: ["Retry-After": String(s)])
            case .status418(let until): return Self.error(418, -1003, "Way too many requests; IP banned until \(until). Please use the websocket for live updates to avoid bans.")
            case .timestampOutsideWindow: return Self.error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
            case .binanceError(let status, let code, let message): return Self.error(status, code, message)
            case .http503Unknown: return Self.error(503, -1000, "Unknown error, please check your request or try again later.")
            case .http503Unavailable: return Self.json(503, ["code": -1001, "msg": "Service Unavailable."])
            case .delayAfterAccept(let s): delay = s
            case .executeThenDrop, .undecodable2xx: after = fault
            case .proxyPage(let status):
                return HTTPResponse(statusCode: HTTPStatusCode(status, phrase: "Proxy"), headers: [HTTPHeader("Content-Type"): "text/html"],
                                    body: Data("<html><body><h1>\(status)</h1>upstream</body></html>".utf8))
            }
        }

        let signedPaths: Set<String> = ["/fapi/v1/order", "/fapi/v1/algoOrder", "/fapi/v1/openAlgoOrders", "/fapi/v3/positionRisk",
                                        "/fapi/v3/balance", "/fapi/v1/userTrades", "/fapi/v1/income", "/fapi/v1/leverage",
                                        "/fapi/v1/marginType", "/fapi/v1/openOrders", "/fapi/v1/positionSide/dual"]
        if signedPaths.contains(path) {
            guard request.headers[HTTPHeader("X-MBX-APIKEY")] == Self.apiKey else { return Self.error(401, -2015, "Invalid API-key, IP, or permissions for action.") }
            guard let sigRange = rawQuery.range(of: "&signature=") else { return Self.error(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.") }
            let payload = String(rawQuery[..<sigRange.lowerBound])
            let expected = HMACSHA256.hex(key: Self.secret, message: payload)
            guard String(rawQuery[sigRange.upperBound...]) == expected else { return Self.error(400, -1022, "Signature for this request is not valid.") }
            guard let ts = params["timestamp"].flatMap(Int64.init) else { return Self.error(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") }
            let window = params["recvWindow"].flatMap(Int64.init) ?? 5000
            let server = nowMs()
            if ts >= server + 1000 { return Self.error(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.") }
            if server - ts > window { return Self.error(400, -1021, "Timestamp for this request is outside of the recvWindow.") }
        }
        if let i = faults.firstIndex(where: matches), faults[i].fault.afterExecution {
            let fault = faults.remove(at: i).fault
            if case .delayAfterAccept(let s) = fault { delay = s } else { after = fault }
        }

        executed.append((request.method.rawValue, path))
        let response = route(request.method.rawValue, path, params)
        switch after {
        case .executeThenDrop?: return HTTPResponse(webSocket: DropConnection())
        case .undecodable2xx?:
            return HTTPResponse(statusCode: .ok, headers: [HTTPHeader("Content-Type"): "text/html"], body: Data("<html><body>OK</body></html>".utf8))
        default: break
        }
        if let delay { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
        if response.statusCode.code == 200 {
            var r = response
            r.headers[HTTPHeader("X-MBX-USED-WEIGHT-1M")] = weightHeader["X-MBX-USED-WEIGHT-1M"]
            if path == "/fapi/v1/order" || path == "/fapi/v1/algoOrder", method(request) == "POST" {
                orderCount10s += 1
                r.headers[HTTPHeader("X-MBX-ORDER-COUNT-10S")] = String(orderCount10s)
                r.headers[HTTPHeader("X-MBX-ORDER-COUNT-1M")] = String(orderCount10s)
            }
            return r
        }
        return response
    }

    func method(_ r: HTTPRequest) -> String { r.method.rawValue }

    func require(_ params: [String: String], _ names: [String]) -> HTTPResponse? {
        for n in names where (params[n] ?? "").isEmpty {
            return Self.error(400, -1102, "Mandatory parameter '\(n)' was not sent, was empty/null, or malformed.")
        }
        return nil
    }

    func route(_ method: String, _ path: String, _ p: [String: String]) -> HTTPResponse {
        switch (method, path) {
        case ("GET", "/fapi/v1/time"):
            return Self.json(200, ["serverTime": nowMs()])
        case ("GET", "/fapi/v1/premiumIndex"):
            if let e = require(p, ["symbol"]) { return e }
            let mark = marks[p["symbol"]!] ?? 100
            return Self.json(200, ["symbol": p["symbol"]!, "markPrice": "\(mark)", "lastFundingRate": "0.0001", "nextFundingTime": 0, "time": nowMs()])
        case ("POST", "/fapi/v1/order"):
            if let e = require(p, ["symbol", "side", "type"]) { return e }
            if ["STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET"].contains(p["type"]!) {
                return Self.error(400, -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
            }
            if let e = require(p, ["quantity"]) { return e }
            let cid = p["newClientOrderId"] ?? "auto-\(nextId)"
            // Binance rejects a duplicate client id only while the first order is still open: a
            // filled MARKET order's id does not stop a second, identical order.
            if let existing = orders[cid], existing["status"] == "NEW" { return Self.error(400, -4116, "ClientOrderId is duplicated.") }
            let symbol = p["symbol"]!, qty = Decimal(string: p["quantity"]!) ?? 0
            let mark = marks[symbol] ?? 100
            if p["reduceOnly"] == "true" {
                let amt = positions[symbol] ?? 0
                guard amt != 0, (amt > 0) == (p["side"] == "SELL") else { return Self.error(400, -2022, "ReduceOnly Order is rejected.") }
            }
            nextId += 1
            let o = ["symbol": symbol, "orderId": String(nextId), "clientOrderId": cid, "side": p["side"]!, "type": "MARKET", "status": "FILLED",
                     "origQty": p["quantity"]!, "executedQty": p["quantity"]!, "avgPrice": "\(mark)", "reduceOnly": p["reduceOnly"] ?? "false"]
            orders[cid] = o
            fill(symbol: symbol, side: p["side"]!, qty: qty, price: mark, orderId: nextId)
            return Self.json(200, orderJSON(o))
        case ("GET", "/fapi/v1/order"):
            if let e = require(p, ["symbol"]) { return e }
            guard let cid = p["origClientOrderId"], let o = orders[cid] else { return Self.error(400, -2013, "Order does not exist.") }
            return Self.json(200, orderJSON(o))
        case ("POST", "/fapi/v1/algoOrder"):
            if let e = require(p, ["algoType", "symbol", "side", "type", "triggerPrice"]) { return e }
            guard p["algoType"] == "CONDITIONAL" else { return Self.error(400, -1116, "Invalid algoType.") }
            if p["closePosition"] == "true", p["quantity"] != nil { return Self.error(400, -4137, "Quantity must be zero with closePosition equals true") }
            let cid = p["clientAlgoId"] ?? "auto-\(nextId)"
            if let existing = algos[cid], existing["algoStatus"] == "NEW" { return Self.error(400, -4116, "ClientOrderId is duplicated.") }
            nextId += 1
            let a = ["algoId": String(nextId), "clientAlgoId": cid, "symbol": p["symbol"]!, "side": p["side"]!, "orderType": p["type"]!,
                     "algoStatus": "NEW", "triggerPrice": p["triggerPrice"]!, "closePosition": p["closePosition"] ?? "false",
                     "workingType": p["workingType"] ?? "CONTRACT_PRICE"]
            algos[cid] = a
            return Self.json(200, algoJSON(a))
        case ("GET", "/fapi/v1/algoOrder"):
            guard let cid = p["clientAlgoId"], let a = algos[cid] else { return Self.error(400, -2013, "Order does not exist.") }
            return Self.json(200, algoJSON(a))
        case ("DELETE", "/fapi/v1/algoOrder"):
            guard let cid = p["clientAlgoId"], var a = algos[cid], a["algoStatus"] == "NEW" else { return Self.error(400, -2011, "Unknown order sent.") }
            a["algoStatus"] = "CANCELED"
            algos[cid] = a
            return Self.json(200, ["algoId": Int64(a["algoId"]!)!, "clientAlgoId": cid, "code": "200", "msg": "success"])
        case ("GET", "/fapi/v1/openAlgoOrders"):
            return Self.json(200, algos.values.filter { $0["algoStatus"] == "NEW" && (p["symbol"] == nil || $0["symbol"] == p["symbol"]) }
                .sorted { $0["algoId"]! < $1["algoId"]! }.map(algoJSON) + manualAlgos.filter { p["symbol"] == nil || $0["symbol"] as? String == p["symbol"] })
        case ("GET", "/fapi/v3/positionRisk"):
            return Self.json(200, positions.filter { $0.value != 0 }.map { ["symbol": $0.key, "positionSide": "BOTH", "positionAmt": "\($0.value)",
                                                                             "entryPrice": "\(entryPrices[$0.key] ?? 100)", "markPrice": "\(marks[$0.key] ?? 100)",
                                                                             "unRealizedProfit": "0"] })
        case ("GET", "/fapi/v1/positionSide/dual"):
            return Self.json(200, ["dualSidePosition": hedgeMode])
        case ("POST", "/fapi/v1/positionSide/dual"):
            if p["dualSidePosition"] == String(hedgeMode) { return Self.error(400, -4059, "No need to change position side.") }
            hedgeMode = p["dualSidePosition"] == "true"
            return Self.json(200, ["code": 200, "msg": "success"])
        case ("GET", "/fapi/v1/ticker/24hr"):
            return Self.json(200, tickers)
        case ("GET", "/fapi/v1/klines"), ("GET", "/fapi/v1/markPriceKlines"):
            if let e = require(p, ["symbol", "interval"]) { return e }
            // A symbol with no history set answers no candles (scan tests); setHistory serves real ones.
            let series = (path == "/fapi/v1/klines" ? klineHistory : markHistory)[p["symbol"]!] ?? []
            // History is served at 1m only; other intervals answer no candles (as for a symbol without history).
            guard p["interval"] == "1m" else { return Self.json(200, [Any]()) }
            let limit = min(Int(p["limit"] ?? "500") ?? 500, 1500)
            let start = Int64(p["startTime"] ?? "") ?? 0, end = Int64(p["endTime"] ?? "") ?? .max
            let rows = series.filter { $0.openTimeMs >= start && $0.openTimeMs <= end }.prefix(limit).map { c -> [Any] in
                let v = path == "/fapi/v1/klines" ? "\(c.volume)" : "0"
                return [c.openTimeMs, "\(c.open)", "\(c.high)", "\(c.low)", "\(c.close)", v, c.openTimeMs + 59_999, "0", 0, "0", "0", "0"]
            }
            return Self.json(200, Array(rows))
        case ("GET", "/fapi/v1/fundingRate"):
            guard let symbol = p["symbol"], let events = fundingHistory[symbol] else { return Self.error(400, -1121, "Invalid symbol.") }
            let limit = min(Int(p["limit"] ?? "100") ?? 100, 1000)
            let start = Int64(p["startTime"] ?? "") ?? 0, end = Int64(p["endTime"] ?? "") ?? .max
            return Self.json(200, Array(events.filter { $0.timeMs >= start && $0.timeMs <= end }.prefix(limit).map {
                ["symbol": symbol, "fundingTime": $0.timeMs, "fundingRate": $0.rate, "markPrice": "0"] as [String: Any]
            }))
        case ("GET", "/fapi/v1/exchangeInfo"):
            return HTTPResponse(statusCode: .ok, headers: [HTTPHeader("Content-Type"): "application/json"], body: exchangeInfo)
        case ("GET", "/fapi/v1/userTrades"):
            if let e = require(p, ["symbol"]) { return e }
            // As Binance: oldest first, `limit` fills (default 500, at most 1000); `fromId` without times.
            let limit = min(Int(p["limit"] ?? "") ?? 500, 1000)
            let mine = trades.filter { ($0["symbol"] as? String) == p["symbol"] }
            if let fromId = p["fromId"].flatMap({ Int64($0) }) {
                guard p["startTime"] == nil, p["endTime"] == nil else { return Self.error(400, -1128, "Combination of optional parameters invalid.") }
                return Self.json(200, Array(mine.filter { (($0["id"] as? Int64) ?? 0) >= fromId }.prefix(limit)))
            }
            if let e = windowError(p) { return e }
            let start = Int64(p["startTime"] ?? "0") ?? 0, end = Int64(p["endTime"] ?? "") ?? .max
            return Self.json(200, Array(mine.filter { (start...end).contains(($0["time"] as? Int64) ?? 0) }.prefix(limit)))
        case ("GET", "/fapi/v1/income"):
            if let e = windowError(p) { return e }
            let start = Int64(p["startTime"] ?? "0") ?? 0, end = Int64(p["endTime"] ?? "") ?? .max
            // As Binance: oldest first, `limit` records (default 100, at most 1000) of page `page` (from 1).
            let limit = min(Int(p["limit"] ?? "") ?? 100, 1000), page = incomeIgnoresPage ? 1 : max(Int(p["page"] ?? "") ?? 1, 1)
            let rows = income.filter { (start...end).contains(($0["time"] as? Int64) ?? 0) }
                .enumerated().sorted { (($0.element["time"] as? Int64) ?? 0, $0.offset) < (($1.element["time"] as? Int64) ?? 0, $1.offset) }.map(\.element)
            return Self.json(200, Array(rows.dropFirst((page - 1) * limit).prefix(limit)))
        case ("GET", "/fapi/v3/balance"):
            return Self.json(200, [["accountAlias": "x", "asset": "USDT", "balance": "100.00000000", "availableBalance": "100.00000000"]])
        case ("POST", "/fapi/v1/leverage"):
            return Self.json(200, ["leverage": Int(p["leverage"] ?? "1") ?? 1, "maxNotionalValue": "1000000", "symbol": p["symbol"] ?? ""])
        case ("POST", "/fapi/v1/marginType"):
            return Self.error(400, -4046, "No need to change margin type.")
        default:
            return Self.error(404, -1000, "fake has no route \(method) \(path)")
        }
    }

    /// Binance answers a window over 7 days with -1127 (and an upside-down one with -1023).
    func windowError(_ p: [String: String]) -> HTTPResponse? {
        guard let start = p["startTime"].flatMap({ Int64($0) }), let end = p["endTime"].flatMap({ Int64($0) }) else { return nil }
        if start > end { return Self.error(400, -1023, "Start time is greater than end time.") }
        if end - start > Self.maxHistoryWindowMs { return Self.error(400, -1127, "More than 168 hours between startTime and endTime.") }
        return nil
    }

    /// Places an algo order the way a person does in the app, with the fields such orders carry
    /// (a trailing stop has an empty trigger price until it activates).
    public func addManualAlgo(_ fields: [String: Any]) {
        manualAlgos.append(fields)
    }

    func orderJSON(_ o: [String: String]) -> [String: Any] {
        ["symbol": o["symbol"]!, "orderId": Int64(o["orderId"]!)!, "clientOrderId": o["clientOrderId"]!, "side": o["side"]!, "type": o["type"]!,
         "status": o["status"]!, "origQty": o["origQty"]!, "executedQty": o["executedQty"]!, "avgPrice": o["avgPrice"]!,
         "reduceOnly": o["reduceOnly"] == "true", "updateTime": nowMs()]
    }

    func algoJSON(_ a: [String: String]) -> [String: Any] {
        ["algoId": Int64(a["algoId"]!)!, "clientAlgoId": a["clientAlgoId"]!, "algoType": "CONDITIONAL", "orderType": a["orderType"]!,
         "symbol": a["symbol"]!, "side": a["side"]!, "positionSide": "BOTH", "algoStatus": a["algoStatus"]!, "triggerPrice": a["triggerPrice"]!,
         "closePosition": a["closePosition"] == "true", "workingType": a["workingType"]!, "actualOrderId": a["actualOrderId"] ?? "", "updateTime": nowMs()]
    }
}

/// Closes the connection without answering: FlyingFox asks a WebSocket handler for its frames
/// before writing the 101 header, so throwing here leaves the client with nothing but EOF.
struct DropConnection: WSHandler {
    struct Dropped: Error {}
    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> { throw Dropped() }
}
