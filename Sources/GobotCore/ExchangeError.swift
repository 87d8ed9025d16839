/// What went wrong talking to an exchange, classified by what the caller may do next.
public enum ExchangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exchange answered with an error code: the request failed and did nothing.
    case rejected(code: Int, message: String)
    /// The request may or may not have taken effect (timeout, -1007, 503 "Unknown error").
    /// Never resend: look the order up by its client id.
    case unknownOutcome(String)
    /// Failed without effect but worth retrying later (5xx "Service Unavailable", -1001, -1008).
    case unavailable(String)
    /// 429: over the request budget; retry after `untilMs`.
    case rateLimited(untilMs: Int64)
    /// 418: the IP is banned until `untilMs`; no call may be made before then.
    case banned(untilMs: Int64)
    /// The circuit breaker is open after repeated failures.
    case breakerOpen(untilMs: Int64)
    /// The response could not be decoded.
    case badResponse(endpoint: String, reason: String)
    /// Something the exchange needs is missing (keys, symbol rules).
    case notConfigured(String)
    /// gobot asked for something the exchange would refuse (e.g. a history window over 7 days);
    /// a bug in the caller, caught before sending.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .rejected(let code, let message): "exchange rejected the request: \(code) \(message)"
        case .unknownOutcome(let m): "outcome unknown (\(m)); will look it up, not resend"
        case .unavailable(let m): "exchange unavailable: \(m)"
        case .rateLimited(let until): "rate limited by the exchange until \(until) ms"
        case .banned(let until): "IP banned by the exchange until \(until) ms (HTTP 418); no requests until then"
        case .breakerOpen(let until): "exchange circuit breaker open until \(until) ms after repeated failures"
        case .badResponse(let endpoint, let reason): "unexpected response from \(endpoint): \(reason)"
        case .notConfigured(let m): m
        case .invalidRequest(let m): "invalid request: \(m)"
        }
    }

    /// Whether a step should exit 75 ("try later") rather than 1.
    public var isTemporary: Bool {
        switch self {
        case .unavailable, .rateLimited, .banned, .breakerOpen, .unknownOutcome: true
        case .rejected, .badResponse, .notConfigured, .invalidRequest: false
        }
    }

    public var code: Int? { if case .rejected(let c, _) = self { c } else { nil } }

    /// Whether this error proves an order request did not execute: the exchange refused it with
    /// an error code (429 and 418 included), or gobot itself held it back before sending (its
    /// budget, the ban, the breaker, missing keys). Everything else on an order is "unknown".
    public var provesNothingExecuted: Bool {
        switch self {
        case .rejected(let code, _): !isDuplicateClientId && code != -1000  // -1000 UNKNOWN: may have executed
        case .rateLimited, .banned, .breakerOpen, .notConfigured, .invalidRequest: true
        case .unknownOutcome, .unavailable, .badResponse: false
        }
    }

    /// -4116 on a placement: an order with this client id already exists, so the request (or an
    /// earlier one) took effect. Look the order up by its client id; never treat it as refused.
    public var isDuplicateClientId: Bool { code == -4116 }
}
