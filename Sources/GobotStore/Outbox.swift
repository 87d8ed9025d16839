import GRDB

/// A message waiting to be delivered (Telegram text or photo). Written in the same transaction
/// as the event it reports, sent by whichever step runs next, so nothing is lost or sent twice.
public struct OutboxMessage: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var createdAtMs: Int64
    public var channel: String
    public var kind: String
    public var payload: String
    public var dedupeKey: String
    public var status: String
    public var attempts: Int
    public var nextAttemptAtMs: Int64
    public var lastError: String?
    public var sentAtMs: Int64?

    enum CodingKeys: String, CodingKey {
        case id, channel, kind, payload, status, attempts
        case createdAtMs = "created_at_ms", dedupeKey = "dedupe_key", nextAttemptAtMs = "next_attempt_at_ms"
        case lastError = "last_error", sentAtMs = "sent_at_ms"
    }
}

/// A message for the outbox, queued in the transaction of the event it reports (a booking): one
/// queued after the commit (with `try?`) was lost for good by a crash or a failed insert in
/// between, since the booked record is never read again (review 12, L2).
public struct QueuedMessage: Sendable, Equatable {
    public var kind: String
    public var dedupeKey: String
    public var payload: String
    public var atMs: Int64

    public init(kind: String, dedupeKey: String, payload: String, atMs: Int64) {
        self.kind = kind
        self.dedupeKey = dedupeKey
        self.payload = payload
        self.atMs = atMs
    }
}

extension GobotDatabase {
    /// Queues a message; a second message with the same dedupe key is ignored.
    @discardableResult
    public static func enqueue(_ db: Database, channel: String, kind: String, payload: String, dedupeKey: String, atMs: Int64) throws -> Bool {
        try db.cachedStatement(sql: """
            INSERT INTO outbox (created_at_ms, channel, kind, payload, dedupe_key, next_attempt_at_ms)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING
            """).execute(arguments: [atMs, channel, kind, payload, dedupeKey, atMs])
        return db.changesCount > 0
    }

    @discardableResult
    public func enqueue(channel: String, kind: String, payload: String, dedupeKey: String, atMs: Int64) throws -> Bool {
        try write { db in try Self.enqueue(db, channel: channel, kind: kind, payload: payload, dedupeKey: dedupeKey, atMs: atMs) }
    }

    public func dueMessages(atMs: Int64, limit: Int = 20) throws -> [OutboxMessage] {
        try read { db in
            try OutboxMessage.fetchAll(db, sql: """
                SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at_ms <= ? ORDER BY id LIMIT ?
                """, arguments: [atMs, limit])
        }
    }

    /// Message counts by status (pending, sent, dead), without loading the messages: the
    /// metrics file asks after every step and the outbox only grows.
    public func outboxCounts() throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")) {
                counts[row["status"]] = row["n"]
            }
            return counts
        }
    }

    public func outbox() throws -> [OutboxMessage] {
        try read { db in try OutboxMessage.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id") }
    }

    public func markSent(_ id: Int64, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE outbox SET status = 'sent', sent_at_ms = ?, attempts = attempts + 1 WHERE id = ?").execute(arguments: [atMs, id])
        }
    }

    /// Reschedules a failed send; after `maxAttempts` the message is parked as `dead` (and visible in status).
    public func markFailed(_ id: Int64, error: String, retryAtMs: Int64, maxAttempts: Int = 50) throws {
        try write { db in
            try db.cachedStatement(sql: """
                UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at_ms = ?,
                    status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE 'pending' END
                WHERE id = ?
                """).execute(arguments: [error, retryAtMs, maxAttempts, id])
        }
    }
}
