import BinanceFutures
import Foundation
import GobotCore
import GobotStore
import GRDB

/// The exchange client's memory, in the shared database, so that every cron process sees the
/// same weight budget, ban, back-off, breaker, clock offset and price cache.
public struct DatabaseExchangeState: ExchangeStateStore {
    let db: GobotDatabase
    let breakerThreshold: Int
    let breakerCooldownMs: Int64
    static let offsetKey = "binance_clock_offset"
    static let breakerName = "exchange"

    public init(db: GobotDatabase, breakerThreshold: Int, breakerCooldownMs: Int64) {
        self.db = db
        self.breakerThreshold = breakerThreshold
        self.breakerCooldownMs = breakerCooldownMs
    }

    /// The client's view: a stored value that does not read is measured again (which overwrites
    /// it), so a damaged row heals on the next signed request instead of failing every request.
    public func clockOffset() throws -> (offsetMs: Int64, syncedAtMs: Int64)? {
        do { return try clockSync().map { ($0.offsetMs, $0.syncedAtMs) } } catch is GobotStore.RowDecodingError { return nil }
    }

    /// The last sync with its round trip (0 for values written before it was kept). A value that
    /// does not read is an error, not "never synced": the skew gate and every history window rely
    /// on it.
    public func clockSync() throws -> ClockSync? {
        try Self.clockSync(stored: try db.value(forKey: Self.offsetKey))
    }

    /// The sync as stored under ``offsetKey``; nil when none was stored, an error when it does not read.
    static func clockSync(stored v: String?) throws -> ClockSync? {
        guard let v else { return nil }
        let parts = v.split(separator: ":", omittingEmptySubsequences: false).map { Int64($0) }
        guard parts.count == 2 || parts.count == 3, !parts.contains(nil) else {
            throw GobotStore.RowDecodingError(table: "kv", column: "value (key \(Self.offsetKey))", value: v,
                                              remedy: "the next signed request to Binance (`gobot reconcile`) measures the clock again and "
                                                  + "overwrites it; on the paper exchange delete it: DELETE FROM kv WHERE key = '\(Self.offsetKey)'")
        }
        return ClockSync(offsetMs: parts[0]!, syncedAtMs: parts[1]!, roundTripMs: parts.count == 3 ? parts[2]! : 0)
    }

    public func setClockOffset(_ offsetMs: Int64, atMs: Int64, roundTripMs: Int64) throws {
        try db.setValue("\(offsetMs):\(atMs):\(roundTripMs)", forKey: Self.offsetKey, atMs: atMs)
    }

    public func admit(weight: Int, budget: Int, nowMs: Int64) throws {
        let window = nowMs / 60_000 * 60_000
        let verdict: ExchangeError? = try db.write { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM rate_budget WHERE scope = 'ip'")
            // A recorded ban or back-off that does not read must not read as none (0).
            func int(_ column: String) throws -> Int64 {
                do { return try row?.optionalInt64(column, table: "rate_budget") ?? 0 } catch var error as GobotStore.RowDecodingError {
                    error.remedy = "delete the row (DELETE FROM rate_budget) and wait for any ban Binance announced: gobot rebuilds it from the next answers' weight headers"
                    throw error
                }
            }
            let banned = try int("banned_until_ms"), backoff = try int("backoff_until_ms")
            if banned > nowMs { return .banned(untilMs: banned) }
            if backoff > nowMs { return .rateLimited(untilMs: backoff) }
            var used = Int(try int("used"))
            if try int("window_start_ms") != window { used = 0 }
            if used + weight > budget { return .rateLimited(untilMs: window + 60_000) }
            try db.execute(sql: """
                INSERT INTO rate_budget (scope, window_start_ms, used, banned_until_ms, backoff_until_ms) VALUES ('ip', ?, ?, ?, ?)
                ON CONFLICT(scope) DO UPDATE SET window_start_ms = excluded.window_start_ms, used = excluded.used
                """, arguments: [window, used + weight, banned, backoff])
            return nil
        }
        if let verdict { throw verdict }
    }

    public func recordUsedWeight(_ used: Int, nowMs: Int64) throws {
        let window = nowMs / 60_000 * 60_000
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO rate_budget (scope, window_start_ms, used) VALUES ('ip', ?, ?)
                ON CONFLICT(scope) DO UPDATE SET
                    used = CASE WHEN window_start_ms = excluded.window_start_ms THEN MAX(used, excluded.used) ELSE excluded.used END,
                    window_start_ms = excluded.window_start_ms
                """, arguments: [window, used])
        }
    }

    public func recordBackoff(untilMs: Int64) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO rate_budget (scope, window_start_ms, used, backoff_until_ms) VALUES ('ip', 0, 0, ?)
                ON CONFLICT(scope) DO UPDATE SET backoff_until_ms = MAX(backoff_until_ms, excluded.backoff_until_ms)
                """, arguments: [untilMs])
        }
    }

    public func recordBan(untilMs: Int64) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO rate_budget (scope, window_start_ms, used, banned_until_ms) VALUES ('ip', 0, 0, ?)
                ON CONFLICT(scope) DO UPDATE SET banned_until_ms = MAX(banned_until_ms, excluded.banned_until_ms)
                """, arguments: [untilMs])
            try GobotDatabase.appendAudit(db, atMs: untilMs, actor: "exchange", action: "ip_banned", detail: "HTTP 418 until \(untilMs)")
        }
    }

    public func checkBreaker(nowMs: Int64) throws {
        let b = try db.breaker(Self.breakerName)
        if b.isOpen(atMs: nowMs) { throw ExchangeError.breakerOpen(untilMs: b.openUntilMs) }
    }

    public func recordFailure(reason: String, nowMs: Int64) throws -> Bool {
        let opened = try db.recordBreakerFailure(Self.breakerName, reason: reason, threshold: breakerThreshold, cooldownMs: breakerCooldownMs, atMs: nowMs)
        if opened {
            _ = try db.enqueue(channel: "telegram", kind: "breaker", payload: "⛔ exchange circuit breaker open for \(breakerCooldownMs / 1000) s after \(breakerThreshold) failures in a row (last: \(reason))",
                               dedupeKey: "exchange-breaker-\(nowMs)", atMs: nowMs)
        }
        return opened
    }

    public func recordSuccess(nowMs: Int64) throws { try db.recordBreakerSuccess(Self.breakerName, atMs: nowMs) }

    public func cached(_ key: String, nowMs: Int64) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT value FROM cache WHERE key = ? AND expires_at_ms > ?", arguments: [key, nowMs]) }
    }

    public func cache(_ key: String, value: String, ttlMs: Int64, nowMs: Int64) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO cache (key, value, expires_at_ms) VALUES (?, ?, ?)", arguments: [key, value, nowMs + ttlMs])
            try db.execute(sql: "DELETE FROM cache WHERE expires_at_ms < ?", arguments: [nowMs - 3_600_000])
        }
    }
}

extension ExchangeError: ExitCodeProviding {
    public var stepExit: StepExit {
        if case .notConfigured = self { return .badConfig }
        return isTemporary ? .tryLater : .failed
    }
}
