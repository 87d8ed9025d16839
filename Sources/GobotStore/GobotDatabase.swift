import Foundation
import GRDB

/// The one SQLite file that holds gobot's state between cron runs.
///
/// It wraps `any DatabaseWriter` (GRDB's AppDatabase pattern): a WAL `DatabasePool` on disk in
/// production, so concurrent steps read while one writes, and migrations run on open so an old
/// file is brought up to date before any step touches it.
public final class GobotDatabase: Sendable {
    public let writer: any DatabaseWriter
    let inMemoryQueue: DatabaseQueue?

    public init(writer: any DatabaseWriter, migrateUpTo: String? = nil) throws {
        self.writer = writer
        inMemoryQueue = (writer as? DatabaseQueue).flatMap { $0.path == ":memory:" ? $0 : nil }
        let migrator = Self.migrator
        if let migrateUpTo {
            try migrator.migrate(writer, upTo: migrateUpTo)
        } else {
            try migrator.migrate(writer)
        }
    }

    /// Opens (creating if needed) the database file, with a busy timeout so two cron steps that
    /// write at the same moment wait for each other instead of failing.
    ///
    /// An existing file must pass SQLite's `quick_check` before anything (migrations included)
    /// writes to it: writing on into a damaged file spreads the damage. A damaged file is never
    /// recreated or overwritten. Every failure is a ``StateDatabaseError``.
    public static func open(path: String, migrateUpTo: String? = nil) throws(StateDatabaseError) -> GobotDatabase {
        var config = Configuration()
        config.busyMode = .timeout(TimeInterval(busyTimeoutSeconds))
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The WAL file keeps the size of its largest transaction (a migration's table copy)
            // unless a reset cuts it back: past 64 MiB, every reset does.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        do {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            if FileManager.default.fileExists(atPath: path) {
                // Checked through a read-only connection first: opening the pool may already
                // write (switching the journal to WAL), and a damaged file is not written at all.
                var readOnly = Configuration()
                readOnly.readonly = true
                readOnly.busyMode = .timeout(TimeInterval(busyTimeoutSeconds))
                let problems = try DatabaseQueue(path: path, configuration: readOnly).read { db in try quickCheck(db) }
                if !problems.isEmpty { throw StateDatabaseError.damaged(path: path, problems: problems) }
            } else {
                // Created 0600 before SQLite opens it (its -wal and -shm files take the database's mode):
                // positions, P&L and the audit log are nobody else's business.
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let pool = try DatabasePool(path: path, configuration: config)
            let migrates = try !pool.read(Self.migrator.hasCompletedMigrations)
            let opened = try GobotDatabase(writer: pool, migrateUpTo: migrateUpTo)
            // A migration that rebuilt a table (v10, v12) wrote a copy of it into the WAL: the open
            // that migrated checkpoints it and truncates the file at once. Best effort, without
            // waiting, on a connection of its own that waits for no lock (the pool keeps its busy
            // timeout): a step reading an older snapshot meanwhile (several start together) leaves
            // it to the journal size limit at the next reset, and the migration stands either way.
            if migrates {
                var once = Configuration()
                once.busyMode = .immediateError
                _ = try? DatabaseQueue(path: path, configuration: once).writeWithoutTransaction { db in
                    try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)").count
                }
            }
            return opened
        } catch {
            throw StateDatabaseError.classify(error, path: path)
        }
    }

    /// How long a step waits for another step's write (``open(path:migrateUpTo:)``).
    static let busyTimeoutSeconds = 10

    /// SQLite's `PRAGMA quick_check`: the page structure and the table/index agreement, without
    /// the slower index-content comparison of `integrity_check`. Empty when the file is sound.
    static func quickCheck(_ db: Database) throws -> [String] {
        let rows = try String.fetchAll(db, sql: "PRAGMA quick_check")
        return rows == ["ok"] ? [] : rows
    }

    /// Runs `quick_check` again on an open database (for `gobot bench` and tests).
    public func quickCheck() throws -> [String] {
        try writer.read { db in try Self.quickCheck(db) }
    }

    /// An in-memory database for tests.
    public static func inMemory() throws -> GobotDatabase {
        try GobotDatabase(writer: DatabaseQueue())
    }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        // The in-memory database (backtests, tests) has one connection behind one serial queue:
        // nothing else can write between the statements of a read, so it needs no transaction
        // of its own. GRDB compiles BEGIN and COMMIT afresh for each one, which was the largest
        // single cost of the step pipeline. Files (a DatabasePool) keep their snapshot reads.
        if let queue = inMemoryQueue { return try queue.unsafeRead(body) }
        return try writer.read(body)
    }

    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        // The same transaction as `writer.write`, with BEGIN and COMMIT prepared once (see `read`).
        if let queue = inMemoryQueue {
            return try queue.writeWithoutTransaction { db in
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    let value = try body(db)
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                    return value
                } catch {
                    if db.isInsideTransaction { try? db.rollback() }
                    throw error
                }
            }
        }
        return try writer.write(body)
    }

    /// `?, ?, …` for an `IN (…)` list of `count` values.
    static func placeholders(_ count: Int) -> String {
        // Built once for the small counts every step asks for (a string join per read showed in profiles).
        count < commonPlaceholders.count ? commonPlaceholders[count] : repeatElement("?", count: count).joined(separator: ",")
    }

    private static let commonPlaceholders = (0..<9).map { repeatElement("?", count: $0).joined(separator: ",") }

    /// `select` (one search by equality) once per value, joined by UNION ALL. Why not `IN (…)` or
    /// `x = ? OR x = ?`: on an indexed column SQLite runs either by building a temporary b-tree of
    /// the values every time the statement runs, which cost more than the search itself on the
    /// reads every cron step makes (the clock offset and income cursor, live positions, orders to
    /// resolve). The terms of a compound SELECT come back in their order; callers sort and, where
    /// two terms can meet one row, keep it once.
    static func anyOf(_ select: String, count: Int) -> String {
        repeatElement(select, count: count).joined(separator: " UNION ALL ")
    }

    /// Terms of one ``anyOf(_:count:)`` read (SQLite allows 500 in a compound SELECT).
    static let unionTermsPerRead = 100

    /// Runs `body`, which must execute at most one writing statement, without BEGIN and COMMIT:
    /// SQLite makes a single statement atomic on its own (autocommit), so the explicit
    /// transaction of ``write(_:)`` would only add two statements.
    public func writeOne<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        if let queue = inMemoryQueue { return try queue.writeWithoutTransaction(body) }
        return try writer.writeWithoutTransaction(body)
    }

    /// Names of applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Self.migrator.appliedMigrations(db) }
    }
}
