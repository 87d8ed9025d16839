import GRDB

/// One recorded step run; `status` and `validate` read these.
public struct RunRecord: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var step: String
    public var startedAtMs: Int64
    public var finishedAtMs: Int64?
    public var outcome: String
    public var exitCode: Int?
    public var message: String

    enum CodingKeys: String, CodingKey {
        case id, step, outcome, message
        case startedAtMs = "started_at_ms", finishedAtMs = "finished_at_ms", exitCode = "exit_code"
    }
}

extension GobotDatabase {
    /// Records a new run of `step`. The caller holds the step's lock, so any earlier run of the
    /// same step still marked `running` was killed (SIGKILL, OOM, power loss) before it could
    /// record its end: it is closed as `killed` here, so `status` never shows it running forever.
    public func startRun(step: String, atMs: Int64) throws -> Int64 {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET outcome = 'killed', finished_at_ms = ?,
                    message = 'no end was recorded: the process was killed (SIGKILL, out of memory or power loss); closed by the next run'
                WHERE step = ? AND outcome = 'running'
                """, arguments: [atMs, step])
            try db.cachedStatement(sql: "INSERT INTO runs (step, started_at_ms) VALUES (?, ?)").execute(arguments: [step, atMs])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(id: Int64, atMs: Int64, outcome: String, exitCode: Int32, message: String) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE runs SET finished_at_ms = ?, outcome = ?, exit_code = ?, message = ? WHERE id = ?",
                arguments: [atMs, outcome, Int(exitCode), message, id])
        }
    }

    /// The latest run of each step, for `status`.
    public func lastRuns() throws -> [RunRecord] {
        try read { db in
            try RunRecord.fetchAll(db, sql: """
                SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY step) ORDER BY step
                """)
        }
    }

    public func runs(step: String) throws -> [RunRecord] {
        try read { db in try RunRecord.fetchAll(db, sql: "SELECT * FROM runs WHERE step = ? ORDER BY id", arguments: [step]) }
    }
}
