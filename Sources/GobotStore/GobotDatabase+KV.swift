import GRDB

extension GobotDatabase {
    /// Small persisted values: cursors, clock offset, Telegram offset.
    public func value(forKey key: String) throws -> String? {
        try read { db in try Self.value(db, forKey: key) }
    }

    /// Read through the C API (StatementColumns): every step reads the clock offset, and GRDB's
    /// generic `String.fetchOne` cost several times the statement itself.
    static func value(_ db: Database, forKey key: String) throws -> String? {
        try rows(db, "SELECT value FROM kv WHERE key = ?", [key], table: "kv") { c in try c.text(0, "value") }.first
    }

    public func deleteValue(forKey key: String) throws {
        try writeOne { db in try db.cachedStatement(sql: "DELETE FROM kv WHERE key = ?").execute(arguments: [key]) }
    }

    /// Several values, in one statement per hundred keys; absent keys are absent from the answer.
    public func values(forKeys keys: [String]) throws -> [String: String] {
        guard !keys.isEmpty else { return [:] }
        return try read { db in
            var out: [String: String] = [:]
            for start in stride(from: 0, to: keys.count, by: Self.unionTermsPerRead) {
                let chunk = Array(keys[start..<min(start + Self.unionTermsPerRead, keys.count)])
                for (key, value) in try Self.rows(db, Self.valuesSQL(chunk.count), Self.arguments(chunk), table: "kv", { c in (try c.text(0, "key"), try c.text(1, "value")) }) { out[key] = value }
            }
            return out
        }
    }

    /// One search per key (``anyOf(_:count:)``).
    static func valuesSQL(_ count: Int) -> String { anyOf("SELECT key, value FROM kv WHERE key = ?", count: count) }

    public func setValue(_ value: String, forKey key: String, atMs: Int64) throws {
        try writeOne { db in try Self.setValue(db, value, forKey: key, atMs: atMs) }
    }

    static func setValue(_ db: Database, _ value: String, forKey key: String, atMs: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO kv (key, value, updated_at_ms) VALUES (?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms
            """).execute(arguments: [key, value, atMs])
    }
}
