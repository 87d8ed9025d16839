import GRDB

extension GobotDatabase {
    /// Small persisted values: cursors, clock offset, Telegram offset.
    public func value(forKey key: String) throws -> String? {
        try read { db in try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM kv WHERE key = ?"), arguments: [key]) }
    }

    public func deleteValue(forKey key: String) throws {
        try write { db in try db.cachedStatement(sql: "DELETE FROM kv WHERE key = ?").execute(arguments: [key]) }
    }

    public func setValue(_ value: String, forKey key: String, atMs: Int64) throws {
        try write { db in try Self.setValue(db, value, forKey: key, atMs: atMs) }
    }

    static func setValue(_ db: Database, _ value: String, forKey key: String, atMs: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO kv (key, value, updated_at_ms) VALUES (?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms
            """).execute(arguments: [key, value, atMs])
    }
}
