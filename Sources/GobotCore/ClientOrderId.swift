/// Deterministic client order ids: the same intent always gets the same id, so a retry after a
/// crash or timeout can be looked up instead of sent twice. Binance allows `[.A-Z:/a-z0-9_-]{1,36}`.
public enum ClientOrderId {
    public enum Purpose: String, Sendable { case entry = "E", stop = "SL", takeProfit = "TP", close = "X" }

    /// `gb-<signalId>-<purpose>[-<attempt>]`, e.g. `gb-42-E`, `gb-42-SL-2`.
    public static func make(signalId: Int64, purpose: Purpose, attempt: Int = 1) -> String {
        attempt <= 1 ? "gb-\(signalId)-\(purpose.rawValue)" : "gb-\(signalId)-\(purpose.rawValue)-\(attempt)"
    }

    public static func isValid(_ id: String) -> Bool {
        (1...36).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".:/_-".contains($0)) }
    }
}
