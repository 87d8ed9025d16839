import GRDB

/// A persisted circuit breaker: it survives between cron runs, which an in-memory one would not.
public struct BreakerState: Sendable, Equatable {
    public var name: String
    public var failures: Int
    public var openUntilMs: Int64
    public var reason: String

    public func isOpen(atMs: Int64) -> Bool { openUntilMs > atMs }
}

extension GobotDatabase {
    public func breaker(_ name: String) throws -> BreakerState {
        try read { db in try Self.breaker(db, name) }
    }

    static func breaker(_ db: Database, _ name: String) throws -> BreakerState {
        try rows(db, "SELECT name, failures, open_until_ms, reason FROM breakers WHERE name = ?", [name], table: "breakers", breakerState).first
            ?? BreakerState(name: name, failures: 0, openUntilMs: 0, reason: "")
    }

    public func allBreakers() throws -> [BreakerState] {
        try read { db in try Self.allBreakers(db) }
    }

    static func allBreakers(_ db: Database) throws -> [BreakerState] {
        try rows(db, "SELECT name, failures, open_until_ms, reason FROM breakers ORDER BY name", table: "breakers", breakerState)
    }

    /// Columns name, failures, open_until_ms, reason: a damaged row is an error naming its column,
    /// where GRDB's non-optional subscript stopped the process.
    private static func breakerState(_ c: StatementColumns) throws -> BreakerState {
        BreakerState(name: try c.text(0, "name"), failures: Int(try c.int64(1, "failures")), openUntilMs: try c.int64(2, "open_until_ms"),
                     reason: try c.text(3, "reason"))
    }

    /// Counts one failure; opens the breaker for `cooldownMs` once `threshold` failures are in a row.
    /// Returns true when this call opened it (so the caller alerts once).
    @discardableResult
    public func recordBreakerFailure(_ name: String, reason: String, threshold: Int, cooldownMs: Int64, atMs: Int64) throws -> Bool {
        try write { db in
            var b = try Self.breaker(db, name)
            let wasOpen = b.isOpen(atMs: atMs)
            b.failures += 1
            var opened = false
            if b.failures >= threshold && !wasOpen {
                b.openUntilMs = atMs + cooldownMs
                opened = true
                try Self.appendAudit(db, atMs: atMs, actor: "gobot", action: "breaker_open", detail: "\(name): \(reason)")
            }
            try db.cachedStatement(sql: """
                INSERT INTO breakers (name, failures, open_until_ms, reason, updated_at_ms) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET failures = excluded.failures, open_until_ms = excluded.open_until_ms,
                    reason = excluded.reason, updated_at_ms = excluded.updated_at_ms
                """).execute(arguments: [name, b.failures, b.openUntilMs, reason, atMs])
            return opened
        }
    }

    public func recordBreakerSuccess(_ name: String, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE breakers SET failures = 0, updated_at_ms = ? WHERE name = ? AND failures > 0").execute(arguments: [atMs, name])
        }
    }

    /// Opens a breaker directly (e.g. after too many consecutive losing trades).
    public func openBreaker(_ name: String, reason: String, untilMs: Int64, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO breakers (name, failures, open_until_ms, reason, updated_at_ms) VALUES (?, 0, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET open_until_ms = excluded.open_until_ms, reason = excluded.reason,
                    updated_at_ms = excluded.updated_at_ms
                """).execute(arguments: [name, untilMs, reason, atMs])
            try Self.appendAudit(db, atMs: atMs, actor: "gobot", action: "breaker_open", detail: "\(name): \(reason)")
        }
    }
}
