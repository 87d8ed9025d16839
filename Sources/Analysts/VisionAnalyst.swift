import GobotHTTP
import Digest
import Foundation
import GobotCore

/// Where the vision analyst keeps its answer cache and its daily spend (the database in gobot).
public protocol AnalystLedger: Sendable {
    func cachedAnswer(key: String) throws -> String?
    func storeAnswer(key: String, body: String, atMs: Int64) throws
    func spentUSD(day: String) throws -> Decimal
    func addSpend(day: String, usd: Decimal) throws
}

/// Why the vision analyst could not answer; each says what the user can do.
public enum VisionError: Error, Sendable, Equatable, CustomStringConvertible {
    case unauthorized(String)
    case forbidden(String)
    case badRequest(String)
    case quotaExhausted(String)
    case rateLimited(String)
    case unavailable(String)
    case budgetExhausted(spent: Decimal, budget: Decimal)
    case badAnswer(String)

    public var description: String {
        switch self {
        case .unauthorized(let m): "analyst rejected the API key (401): \(m); check OPENAI_API_KEY"
        case .forbidden(let m): "analyst refused access (\(m)); check the model and account"
        case .badRequest(let m): "analyst rejected the request (400): \(m)"
        case .quotaExhausted(let m): "analyst account is out of quota: \(m)"
        case .rateLimited(let m): "analyst rate limited after retries: \(m)"
        case .unavailable(let m): "analyst unavailable after retries: \(m)"
        case .budgetExhausted(let s, let b): "daily analyst budget used up: spent \(s) of \(b) USD"
        case .badAnswer(let m): "analyst answer unusable: \(m)"
        }
    }
}

/// Any OpenAI-compatible chat-completions endpoint with image input and a strict JSON schema.
///
/// The model sees three charts and a short text with the numbers; it answers only a direction,
/// a confidence and its reasoning. Prices it might mention are not asked for and never used.
public struct VisionAnalyst: Analyst {
    public struct Settings: Sendable {
        public var baseURL: String
        public var model: String
        public var detail: String
        public var apiKey: String
        public var apiKeyHeader: String
        public var dailyBudgetUSD: Decimal
        public var inputUSDPerMillion: Decimal
        public var outputUSDPerMillion: Decimal
        public var maxRetries: Int
        /// A direction whose timeframes the model itself calls mixed or conflicting becomes `none`
        /// (the system prompt says to stay out then).
        public var requireTimeframeAgreement: Bool
        /// The spend bucket: nil for one budget per UTC day (cron), a fixed name for one budget for a
        /// whole backtest or evaluation (simulated days must not each get a budget of real money).
        public var budgetPeriod: String?

        public init(baseURL: String, model: String, detail: String, apiKey: String, apiKeyHeader: String, dailyBudgetUSD: Decimal,
                    inputUSDPerMillion: Decimal, outputUSDPerMillion: Decimal, maxRetries: Int, requireTimeframeAgreement: Bool = true,
                    budgetPeriod: String? = nil) {
            self.requireTimeframeAgreement = requireTimeframeAgreement
            self.budgetPeriod = budgetPeriod
            self.baseURL = baseURL
            self.model = model
            self.detail = detail
            self.apiKey = apiKey
            self.apiKeyHeader = apiKeyHeader
            self.dailyBudgetUSD = dailyBudgetUSD
            self.inputUSDPerMillion = inputUSDPerMillion
            self.outputUSDPerMillion = outputUSDPerMillion
            self.maxRetries = maxRetries
        }
    }

    let settings: Settings
    let transport: any HTTPTransport
    let ledger: any AnalystLedger
    let sleep: @Sendable (Int64) async -> Void

    public init(settings: Settings, transport: any HTTPTransport, ledger: any AnalystLedger,
                sleep: @escaping @Sendable (Int64) async -> Void = { ms in try? await Task.sleep(nanoseconds: UInt64(max(ms, 0)) * 1_000_000) }) {
        self.settings = settings
        self.transport = transport
        self.ledger = ledger
        self.sleep = sleep
    }

    public var needsCharts: Bool { true }
    /// The budget of one spend period (a UTC day, or the whole run for a backtest or evaluation).
    public var budgetUSD: Decimal { settings.dailyBudgetUSD }

    static let systemPrompt = """
        You are a cautious futures trading analyst. You see three candlestick charts of one USDT perpetual \
        (1m, 5m, 15m; EMA9 yellow, EMA21 blue; volume at the bottom). Say whether to go long, short or stay out \
        over the next hour, and how confident you are from 0 to 1. Stay out unless the timeframes agree. \
        Answer only with the JSON the schema asks for.
        """

    static var schema: [String: Any] { [
        "type": "object",
        "properties": [
            "direction": ["type": "string", "enum": ["long", "short", "none"]],
            "confidence": ["type": "number"],
            "timeframe_agreement": ["type": "string", "enum": ["aligned", "mixed", "conflicting"]],
            "reasoning": ["type": "string"],
        ],
        "required": ["direction", "confidence", "timeframe_agreement", "reasoning"],
        "additionalProperties": false,
    ] }

    /// Bumped whenever the prompt text or its meaning changes, so old cached answers are not reused.
    static let promptVersion = "prompt-v2"
    static let maxCompletionTokens = 600

    /// Everything that changes the answer: prompt version and text, system prompt, schema, model,
    /// image detail, token limit and sampling (the default temperature), and the chart bytes.
    func cacheKey(text: String, pngs: [[UInt8]]) -> String {
        let schema = (try? JSONSerialization.data(withJSONObject: Self.schema, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var hasher = SHA256Digest()
        hasher.update("\(Self.promptVersion)\n\(settings.model)\n\(settings.detail)\nmax_completion_tokens=\(Self.maxCompletionTokens)\n"
                      + "temperature=default\n\(schema)\n\(Self.systemPrompt)\n\(text)")
        for p in pngs { hasher.update(p) }
        return hasher.finalize().hexString
    }

    /// Whether a usable answer for these charts is cached (asking again would cost nothing).
    public func isCached(_ charts: ChartSet, pngs: [[UInt8]]) throws -> Bool {
        guard let cached = try ledger.cachedAnswer(key: cacheKey(text: Self.prompt(charts), pngs: pngs)) else { return false }
        return (try? parseAnswer(Data(cached.utf8)).usable) ?? false
    }

    /// What one request is expected to cost before it is sent, from the configured prices.
    public struct RequestEstimate: Sendable, Equatable {
        /// Per chart, by OpenAI's image rule for the configured detail.
        public var imageTokens: [Int]
        /// System prompt, user text and schema at four characters a token.
        public var textTokens: Int
        /// The `max_completion_tokens` limit: an upper bound, real answers are shorter.
        public var outputTokens: Int
        public var usd: Decimal
        public var inputTokens: Int { imageTokens.reduce(0, +) + textTokens }
    }

    /// Input tokens as billed by OpenAI's published image rule (detail `low`: 85 per image; `high`
    /// or `auto`: fit in 2048², shortest side down to 768, then 85 + 170 per 512-px tile; the
    /// gpt-4o-mini models count 2833 + 5667 per tile, about 33 times more at a lower price) plus the
    /// text at four characters a token; output at the completion-token limit. Other vendors bill
    /// images their own way, so the estimate is only as good as this rule; the budget is enforced
    /// on the spend the server reports.
    public func estimate(_ charts: ChartSet, pngs: [[UInt8]]) -> RequestEstimate {
        let schema = (try? JSONSerialization.data(withJSONObject: Self.schema, options: [.sortedKeys])).map { $0.count } ?? 0
        let text = (Self.systemPrompt.utf8.count + Self.prompt(charts).utf8.count + schema + 3) / 4 + 20
        let images = pngs.map { Self.imageTokens(png: $0, detail: settings.detail, model: settings.model) }
        let input = images.reduce(0, +) + text
        return RequestEstimate(imageTokens: images, textTokens: text, outputTokens: Self.maxCompletionTokens,
                               usd: cost(prompt: input, completion: Self.maxCompletionTokens))
    }

    static func imageTokens(png: [UInt8], detail: String, model: String) -> Int {
        let (base, tile) = model.lowercased().contains("4o-mini") ? (2833, 5667) : (85, 170)
        guard detail != "low" else { return base }
        guard png.count >= 24 else { return base + tile * 16 }  // not a PNG header: the largest image (2048×2048, 16 tiles)
        var w = Double(png[16..<20].reduce(0) { $0 << 8 | Int($1) }), h = Double(png[20..<24].reduce(0) { $0 << 8 | Int($1) })
        if max(w, h) > 2048 { let s = 2048 / max(w, h); w *= s; h *= s }
        if min(w, h) > 768 { let s = 768 / min(w, h); w *= s; h *= s }
        return base + tile * Int((w / 512).rounded(.up)) * Int((h / 512).rounded(.up))
    }

    static func prompt(_ charts: ChartSet) -> String {
        func line(_ name: String, _ c: [Candle]) -> String {
            guard let last = c.last, let first = c.first else { return "\(name): no data" }
            return "\(name): \(c.count) candles, first open \(first.open), last close \(last.close), high \(c.map(\.high).max() ?? 0), low \(c.map(\.low).min() ?? 0)"
        }
        return "Symbol \(charts.symbol). " + [line("1m", charts.m1), line("5m", charts.m5), line("15m", charts.m15)].joined(separator: "; ")
    }

    public func analyze(_ charts: ChartSet, pngs: [[UInt8]], nowMs: Int64) async throws -> Signal {
        let text = Self.prompt(charts)
        let key = cacheKey(text: text, pngs: pngs)
        if let cached = try ledger.cachedAnswer(key: key), case let (answer, true) = try parseAnswer(Data(cached.utf8)) {
            var s = answer
            s.costUSD = 0
            s.rationale = "(cached) " + s.rationale
            return s
        }
        let day = settings.budgetPeriod ?? TradingCalendar.dayString(nowMs)
        let spent = try ledger.spentUSD(day: day)
        if spent >= settings.dailyBudgetUSD { throw VisionError.budgetExhausted(spent: spent, budget: settings.dailyBudgetUSD) }

        var content: [[String: Any]] = [["type": "text", "text": text]]
        for p in pngs {
            content.append(["type": "image_url", "image_url": ["url": "data:image/png;base64,\(Data(p).base64EncodedString())", "detail": settings.detail]])
        }
        let body: [String: Any] = [
            "model": settings.model,
            "messages": [["role": "system", "content": Self.systemPrompt], ["role": "user", "content": content]],
            "response_format": ["type": "json_schema", "json_schema": ["name": "trade_signal", "strict": true, "schema": Self.schema]],
            "max_completion_tokens": Self.maxCompletionTokens,
        ]
        var headers = ["Content-Type": "application/json"]
        if settings.apiKeyHeader == "api-key" { headers["api-key"] = settings.apiKey } else { headers["Authorization"] = "Bearer \(settings.apiKey)" }
        let request = HTTPRequestData(method: "POST", url: "\(settings.baseURL)/chat/completions", headers: headers,
                                      body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let data = try await send(request)
        let parsed = try parseAnswer(data), usable = parsed.usable
        var signal = parsed.signal
        // Spend is recorded for every billed answer, usable or not; only a usable one is cached
        // (a refusal or a cut-off answer is asked again next time, not replayed as `none` forever).
        try ledger.addSpend(day: day, usd: cost(prompt: signal.promptTokens, completion: signal.completionTokens))
        if usable { try ledger.storeAnswer(key: key, body: String(decoding: data, as: UTF8.self), atMs: nowMs) }
        signal.model = signal.model.isEmpty ? settings.model : signal.model
        return signal
    }

    func send(_ request: HTTPRequestData) async throws -> Data {
        var attempt = 0
        while true {
            let response: HTTPResponseData
            do {
                response = try await transport.send(request)
            } catch {
                if attempt < settings.maxRetries { attempt += 1; await sleep(backoff(attempt, nil)); continue }
                throw VisionError.unavailable("\(error)")
            }
            if response.status == 200 { return response.body }
            let message = Self.errorMessage(response.body)
            let code = Self.errorCode(response.body)
            switch response.status {
            case 401: throw VisionError.unauthorized(message)
            case 403, 404: throw VisionError.forbidden("HTTP \(response.status): \(message)")
            case 400: throw VisionError.badRequest(message)
            case 429 where code == "insufficient_quota": throw VisionError.quotaExhausted(message)
            case 408, 409, 429, 500...599:
                let wait = retryAfterMs(response.headers)
                if attempt < settings.maxRetries, wait.map({ $0 <= 120_000 }) ?? true, response.headers["x-should-retry"] != "false" {
                    attempt += 1
                    await sleep(backoff(attempt, wait))
                    continue
                }
                if response.status == 429 { throw VisionError.rateLimited(message) }
                throw VisionError.unavailable("HTTP \(response.status): \(message)")
            default:
                throw VisionError.badRequest("HTTP \(response.status): \(message)")
            }
        }
    }

    func retryAfterMs(_ headers: [String: String]) -> Int64? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init) { return Int64(ms) }
        if let s = headers["retry-after"].flatMap(Double.init) { return Int64(s * 1000) }
        return nil
    }

    func backoff(_ attempt: Int, _ retryAfter: Int64?) -> Int64 {
        if let retryAfter { return retryAfter }
        return min(8_000, 500 * (1 << (attempt - 1)))
    }

    static func errorMessage(_ body: Data) -> String {
        let obj = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let err = obj?["error"] as? [String: Any] ?? obj
        return (err?["message"] as? String).map { String($0.prefix(200)) } ?? String(decoding: body.prefix(200), as: UTF8.self)
    }

    static func errorCode(_ body: Data) -> String? {
        let obj = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let err = obj?["error"] as? [String: Any] ?? obj
        return (err?["code"] as? String) ?? (err?["type"] as? String)
    }

    func cost(prompt: Int, completion: Int) -> Decimal {
        (Decimal(prompt) * settings.inputUSDPerMillion + Decimal(completion) * settings.outputUSDPerMillion) / 1_000_000
    }

    func parse(_ data: Data) throws -> Signal { try parseAnswer(data).signal }

    /// Accepts only finish_reason "stop", no refusal, and JSON that matches the schema; anything
    /// else is a `none` signal marked unusable.
    func parseAnswer(_ data: Data) throws -> (signal: Signal, usable: Bool) {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let choice = (obj["choices"] as? [[String: Any]])?.first, let message = choice["message"] as? [String: Any] else {
            throw VisionError.badAnswer("not a chat completion")
        }
        let usage = obj["usage"] as? [String: Any]
        let prompt = usage?["prompt_tokens"] as? Int ?? 0, completion = usage?["completion_tokens"] as? Int ?? 0
        let cost = cost(prompt: prompt, completion: completion)
        let model = obj["model"] as? String ?? settings.model
        func none(_ why: String) -> Signal {
            Signal(direction: .none, confidence: 0, rationale: why, model: model, promptTokens: prompt, completionTokens: completion, costUSD: cost.doubleValue)
        }
        if let refusal = message["refusal"] as? String { return (none("refused: \(refusal.prefix(200))"), false) }
        guard let finish = choice["finish_reason"] as? String, finish == "stop" else {
            return (none("no signal: finish_reason \(choice["finish_reason"] as? String ?? "missing") (answer cut off)"), false)
        }
        guard let text = message["content"] as? String, let answer = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return (none("no signal: the answer is not JSON"), false)
        }
        guard let d = answer["direction"] as? String, let direction = Direction(rawValue: d) else { return (none("no signal: direction missing or invalid"), false) }
        guard let c = (answer["confidence"] as? NSNumber)?.doubleValue, c >= 0, c <= 1 else {
            return (none("no signal: confidence missing or outside 0...1"), false)
        }
        guard let stated = answer["timeframe_agreement"] as? String, let agreement = TimeframeAgreement(rawValue: stated) else {
            return (none("no signal: timeframe_agreement missing or invalid"), false)
        }
        let reasoning = (answer["reasoning"] as? String).map { String($0.prefix(500)) } ?? ""
        if direction != .none, agreement != .aligned, settings.requireTimeframeAgreement {
            return (Signal(direction: .none, confidence: c, rationale: "stays out: timeframes \(stated) (model said \(direction.rawValue)); \(reasoning)",
                           model: model, promptTokens: prompt, completionTokens: completion, costUSD: cost.doubleValue, timeframeAgreement: agreement), true)
        }
        return (Signal(direction: direction, confidence: c, rationale: "timeframes \(stated): \(reasoning)", model: model, promptTokens: prompt,
                       completionTokens: completion, costUSD: cost.doubleValue, timeframeAgreement: agreement), true)
    }
}
