import GRDB

/// Whether trading is halted, and why. Separate from the kill-switch file, which works with no
/// command at all.
public struct HaltState: Sendable, Equatable {
    public var halted: Bool
    public var reason: String
    public var actor: String
    public var sinceMs: Int64

    public static let running = HaltState(halted: false, reason: "", actor: "", sinceMs: 0)
}

extension GobotDatabase {
    public func haltState() throws -> HaltState {
        try read { db in try Self.haltState(db) }
    }

    static func haltState(_ db: Database) throws -> HaltState {
        // Read strictly (StatementColumns): a damaged row is an error naming its column, where
        // GRDB's non-optional subscript stopped the process.
        try rows(db, "SELECT halted, reason, actor, since_ms FROM halt_state WHERE id = 1", table: "halt_state") { c in
            HaltState(halted: try c.int64(0, "halted") != 0, reason: try c.text(1, "reason"), actor: try c.text(2, "actor"), sinceMs: try c.int64(3, "since_ms"))
        }.first ?? .running
    }

    /// Sets the halt flag and writes the audit entry in one transaction.
    public func setHalted(_ halted: Bool, reason: String, actor: String, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO halt_state (id, halted, reason, actor, since_ms) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET halted = excluded.halted, reason = excluded.reason,
                    actor = excluded.actor, since_ms = excluded.since_ms
                """).execute(arguments: [halted, reason, actor, atMs])
            try Self.appendAudit(db, atMs: atMs, actor: actor, action: halted ? "halt" : "resume", detail: reason)
        }
    }
}
