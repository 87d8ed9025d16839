/// Deterministic client order ids: the same intent always gets the same id, so a retry after a
/// crash or timeout can be looked up instead of sent twice. Binance allows `[.A-Z:/a-z0-9_-]{1,36}`.
public enum ClientOrderId {
    public enum Purpose: String, Sendable { case entry = "E", stop = "SL", takeProfit = "TP", close = "X" }

    /// `gb-<signalId>-<purpose>[-<attempt>]`, e.g. `gb-42-E`, `gb-42-SL-2`.
    public static func make(signalId: Int64, purpose: Purpose, attempt: Int = 1) -> String {
        make(stem: String(signalId), purpose: purpose, attempt: attempt)
    }

    /// `gb-<stem>-<purpose>[-<attempt>]`, cut to Binance's 36 characters; the stem is a signal id,
    /// or e.g. `adopt-XRPUSDT-<minute>` for a position gobot did not open.
    public static func make(stem: String, purpose: Purpose, attempt: Int = 1) -> String {
        let id = "gb-\(stem)-\(purpose.rawValue)" + (attempt <= 1 ? "" : "-\(attempt)")
        return String(id.prefix(36))
    }

    /// Whether gobot placed the order: only these may be cancelled as orphans or after a close;
    /// everything else on the account belongs to its owner.
    public static func isGobots(_ id: String) -> Bool { id.hasPrefix("gb-") }

    public static func isValid(_ id: String) -> Bool {
        (1...36).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".:/_-".contains($0)) }
    }
}
