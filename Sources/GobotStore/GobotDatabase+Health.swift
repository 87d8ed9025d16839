import GRDB

extension GobotDatabase {
    /// When each step last finished with exit 0 (done, nothing to do, or halted), by step name.
    /// Staleness is measured against this, not against the last run: a step that runs and fails
    /// every time has stopped working just as surely as one cron no longer starts.
    public func lastSuccessMs() throws -> [String: Int64] {
        try read { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: """
                SELECT step, MAX(finished_at_ms) AS at FROM runs WHERE exit_code = 0 AND finished_at_ms IS NOT NULL GROUP BY step
                """)) {
                out[row["step"]] = row["at"]
            }
            return out
        }
    }

    /// When the first step ever started: before that, a step that never succeeded is not yet late.
    public func firstRunMs() throws -> Int64? {
        try read { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(started_at_ms) FROM runs")) }
    }
}
