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
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM halt_state WHERE id = 1")) else { return .running }
        return HaltState(halted: row["halted"], reason: row["reason"], actor: row["actor"], sinceMs: row["since_ms"])
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
