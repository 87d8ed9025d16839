import GobotCore

/// What the client must remember between cron runs: clock offset, request-weight budget, bans,
/// back-offs, the circuit breaker and a short-lived cache. Implemented over the database, so
/// every process shares it.
public protocol ExchangeStateStore: Sendable {
    func clockOffset() throws -> (offsetMs: Int64, syncedAtMs: Int64)?
    /// `roundTripMs` is how long the time request took: the true offset lies between
    /// `offsetMs` and `offsetMs + roundTripMs`, which is what a skew check must allow for.
    func setClockOffset(_ offsetMs: Int64, atMs: Int64, roundTripMs: Int64) throws
    /// Reserves `weight` in the current minute, or throws `ExchangeError` (banned, backing off, over budget).
    func admit(weight: Int, budget: Int, nowMs: Int64) throws
    /// Records the exchange's own count of weight used this minute (X-MBX-USED-WEIGHT-1M).
    func recordUsedWeight(_ used: Int, nowMs: Int64) throws
    func recordBackoff(untilMs: Int64) throws
    func recordBan(untilMs: Int64) throws
    func checkBreaker(nowMs: Int64) throws
    /// Returns true when this failure opened the breaker.
    func recordFailure(reason: String, nowMs: Int64) throws -> Bool
    func recordSuccess(nowMs: Int64) throws
    func cached(_ key: String, nowMs: Int64) throws -> String?
    func cache(_ key: String, value: String, ttlMs: Int64, nowMs: Int64) throws
}

extension ExchangeStateStore {
    /// An offset known exactly (tests, or a clock set by hand).
    public func setClockOffset(_ offsetMs: Int64, atMs: Int64) throws { try setClockOffset(offsetMs, atMs: atMs, roundTripMs: 0) }
}

/// An in-memory store for tests and one-off tools.
public final class MemoryExchangeState: ExchangeStateStore, @unchecked Sendable {
    private var offset: (Int64, Int64)?
    private var windowStart: Int64 = 0, used = 0, banUntil: Int64 = 0, backoffUntil: Int64 = 0
    private var failures = 0, breakerUntil: Int64 = 0
    private var values: [String: (String, Int64)] = [:]
    let threshold: Int, cooldownMs: Int64

    public init(breakerThreshold: Int = 5, breakerCooldownMs: Int64 = 300_000) {
        threshold = breakerThreshold
        cooldownMs = breakerCooldownMs
    }

    public func clockOffset() throws -> (offsetMs: Int64, syncedAtMs: Int64)? { offset.map { ($0.0, $0.1) } }
    public func setClockOffset(_ offsetMs: Int64, atMs: Int64, roundTripMs: Int64) throws { offset = (offsetMs, atMs) }
    public func admit(weight: Int, budget: Int, nowMs: Int64) throws {
        if banUntil > nowMs { throw ExchangeError.banned(untilMs: banUntil) }
        if backoffUntil > nowMs { throw ExchangeError.rateLimited(untilMs: backoffUntil) }
        let window = nowMs / 60_000 * 60_000
        if window != windowStart { windowStart = window; used = 0 }
        if used + weight > budget { throw ExchangeError.rateLimited(untilMs: window + 60_000) }
        used += weight
    }
    public func recordUsedWeight(_ u: Int, nowMs: Int64) throws {
        let window = nowMs / 60_000 * 60_000
        if window != windowStart { windowStart = window; used = 0 }
        used = max(used, u)
    }
    public func recordBackoff(untilMs: Int64) throws { backoffUntil = max(backoffUntil, untilMs) }
    public func recordBan(untilMs: Int64) throws { banUntil = max(banUntil, untilMs) }
    public func checkBreaker(nowMs: Int64) throws { if breakerUntil > nowMs { throw ExchangeError.breakerOpen(untilMs: breakerUntil) } }
    public func recordFailure(reason: String, nowMs: Int64) throws -> Bool {
        failures += 1
        if failures >= threshold && breakerUntil <= nowMs { breakerUntil = nowMs + cooldownMs; return true }
        return false
    }
    public func recordSuccess(nowMs: Int64) throws { failures = 0 }
    public func cached(_ key: String, nowMs: Int64) throws -> String? {
        guard let (v, exp) = values[key], exp > nowMs else { return nil }
        return v
    }
    public func cache(_ key: String, value: String, ttlMs: Int64, nowMs: Int64) throws { values[key] = (value, nowMs + ttlMs) }
}
