import GobotCore
import GRDB
import GRDBSQLite

extension GobotDatabase {
    /// Upserts candles; a candle seen while still open is overwritten once it closes.
    public func storeCandles(symbol: String, interval: Interval, _ candles: [Candle]) throws {
        try storeCandles(symbol: symbol, frames: [(interval, candles)])
    }

    /// Upserts the candles of several intervals atomically: one multi-row statement (no BEGIN and
    /// COMMIT needed) for up to ``candleRowsPerInsert`` candles, one transaction beyond.
    public func storeCandles(symbol: String, frames: [(interval: Interval, candles: [Candle])]) throws {
        let count = frames.reduce(0) { $0 + $1.candles.count }
        guard count > 0 else { return }
        if count <= Self.candleRowsPerInsert {
            try writeOne { db in try Self.insertCandles(db, symbol: symbol, frames: frames) }
        } else {
            try write { db in try Self.insertCandles(db, symbol: symbol, frames: frames) }
        }
    }

    /// SQLite copies a bound text before the call returns (SQLITE_TRANSIENT).
    static let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Rows per candle INSERT: 9 values each stays under SQLite's oldest limit of 999 variables.
    static let candleRowsPerInsert = 100

    /// Upserts candles, up to ``candleRowsPerInsert`` in one statement (a scan's few new candles
    /// are one statement, not one each).
    static func insertCandles(_ db: Database, symbol: String, frames: [(interval: Interval, candles: [Candle])]) throws {
        let rows = frames.flatMap { f in f.candles.map { (f.interval, $0) } }
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + candleRowsPerInsert, rows.count)]
            let stmt = try db.cachedStatement(sql: "INSERT INTO candles (symbol, interval, open_time_ms, open, high, low, close, volume, close_time_ms) VALUES "
                + repeatElement("(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ") + """
                 ON CONFLICT(symbol, interval, open_time_ms) DO UPDATE SET open = excluded.open, high = excluded.high,
                    low = excluded.low, close = excluded.close, volume = excluded.volume
                """)
            // Bound through SQLite's C API, as candles are read: GRDB's arguments box every value.
            let h = stmt.sqliteStatement
            sqlite3_reset(h)
            sqlite3_clear_bindings(h)
            var i: Int32 = 1
            for (interval, c) in chunk {
                // A failed bind would otherwise surface as a constraint error that names no candle.
                // The first failure's own code is kept: every later bind that succeeds resets the
                // connection's error code to SQLITE_OK, so sqlite3_errcode would say "not an error".
                var rc = sqlite3_bind_text(h, i, symbol, -1, sqliteTransient)
                if rc == SQLITE_OK { rc = sqlite3_bind_text(h, i + 1, interval.rawValue, -1, sqliteTransient) }
                if rc == SQLITE_OK { rc = sqlite3_bind_int64(h, i + 2, c.openTimeMs) }
                if rc == SQLITE_OK { rc = sqlite3_bind_int64(h, i + 8, c.closeTimeMs(interval)) }
                if rc == SQLITE_OK { rc = sqlite3_bind_double(h, i + 3, c.open) }
                if rc == SQLITE_OK { rc = sqlite3_bind_double(h, i + 4, c.high) }
                if rc == SQLITE_OK { rc = sqlite3_bind_double(h, i + 5, c.low) }
                if rc == SQLITE_OK { rc = sqlite3_bind_double(h, i + 6, c.close) }
                if rc == SQLITE_OK { rc = sqlite3_bind_double(h, i + 7, c.volume) }
                if rc != SQLITE_OK {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc),
                                        message: "binding the \(interval.rawValue) candle of \(symbol) at \(c.openTimeMs) ms: \(String(cString: sqlite3_errstr(rc)))",
                                        sql: stmt.sql)
                }
                i += 9
            }
            try Self.step(stmt) { _ in }
            start += chunk.count
        }
    }

    /// Scan's writes for one symbol in one transaction: its new candles, then the latest
    /// `m15Limit` stored 15m candles go to `candidate`; when it gives a last close and a score, a
    /// fresh candidate is queued (the symbol's earlier fresh ones expire). Returns whether one was.
    public func storeScan(symbol: String, frames: [(interval: Interval, candles: [Candle])], atMs: Int64, m15Limit: Int,
                          candidate: @Sendable ([Candle]) -> (lastClose: Double, score: Double)?) throws -> Bool {
        try write { db in
            try Self.insertCandles(db, symbol: symbol, frames: frames)
            let m15 = try Self.candles(db, symbol: symbol, interval: .m15, closedByMs: atMs, limit: m15Limit)
            guard let c = candidate(m15) else { return false }
            try Self.addCandidate(db, symbol: symbol, atMs: atMs, lastClose: c.lastClose, score: c.score)
            return true
        }
    }

    /// The latest `limit` candles that closed at or before `closedByMs`, oldest first.
    public func candles(symbol: String, interval: Interval, closedByMs: Int64, limit: Int) throws -> [Candle] {
        try read { db in try Self.candles(db, symbol: symbol, interval: interval, closedByMs: closedByMs, limit: limit) }
    }

    /// The latest candles of each interval (the analyst's three frames), in one read.
    public func candles(symbol: String, intervals: [Interval], closedByMs: Int64, limit: Int) throws -> [[Candle]] {
        try candles(symbol: symbol, intervals: intervals, closedByMs: closedByMs, limits: Array(repeating: limit, count: intervals.count))
    }

    /// The latest `limits[i]` candles of each `intervals[i]`, in one read: one prepared statement
    /// per interval, each newest first by its own ORDER BY (a UNION of them promised no order and
    /// had to be sorted afterwards, which cost more than the two statements it saved).
    public func candles(symbol: String, intervals: [Interval], closedByMs: Int64, limits: [Int]) throws -> [[Candle]] {
        precondition(limits.count == intervals.count, "one limit per interval")
        return try read { db in try zip(intervals, limits).map { try Self.candles(db, symbol: symbol, interval: $0, closedByMs: closedByMs, limit: $1) } }
    }

    /// Steps a statement whose arguments are set through SQLite's C API, calling `row` per row.
    static func step(_ stmt: Statement, row: (OpaquePointer) throws -> Void) throws {
        try stepWhile(stmt) { h in try row(h); return true }
    }

    /// GRDB's statement cache hands back the same statement while it is stepped: a row closure
    /// that ran the same query again would reset this one half-way. No decoder queries today.
    /// A caller that sets arguments checks before (GRDB's `setArguments` resets the statement,
    /// and the check after it would never fire).
    static func notBusy(_ stmt: Statement) throws {
        guard sqlite3_stmt_busy(stmt.sqliteStatement) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "a statement was run again while its rows were being read", sql: stmt.sql)
        }
    }

    /// ``step(_:row:)`` until `row` returns false (the rest of the answer is not computed).
    static func stepWhile(_ stmt: Statement, row: (OpaquePointer) throws -> Bool) throws {
        let h = stmt.sqliteStatement
        try notBusy(stmt)
        defer { sqlite3_reset(h) }
        while true {
            let code = sqlite3_step(h)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(h))), sql: stmt.sql)
            }
            if try !row(h) { return }
        }
    }

    /// The candle in columns `from`...`from + 5` (open time, open, high, low, close, volume).
    /// sqlite3_column_* read text as 0: a damaged row must stop the analysis, not chart a price of
    /// 0 (the columns are INTEGER and REAL; an integral REAL is stored as an integer).
    /// Each column is fetched once and its type and value read from it (``StatementColumns/value(_:_:)``).
    @inline(__always)
    static func candle(_ h: OpaquePointer, from i: Int32) throws -> Candle {
        @inline(__always) func number(_ c: Int32) throws -> Double {
            let v = StatementColumns.value(h, i + c)
            guard let v, case let t = sqlite3_value_type(v), t == SQLITE_FLOAT || t == SQLITE_INTEGER else {
                throw RowDecodingError(table: "candles", column: candleColumns[Int(c)], value: StatementColumns.shown(v))
            }
            return sqlite3_value_double(v)
        }
        let t = StatementColumns.value(h, i)
        guard let t, sqlite3_value_type(t) == SQLITE_INTEGER else {
            throw RowDecodingError(table: "candles", column: candleColumns[0], value: StatementColumns.shown(t))
        }
        return Candle(openTimeMs: sqlite3_value_int64(t), open: try number(1), high: try number(2), low: try number(3), close: try number(4),
                      volume: try number(5))
    }

    static func candles(_ db: Database, symbol: String, interval: Interval, closedByMs: Int64, limit: Int) throws -> [Candle] {
        // Every analysis reads 360 candles: they are stepped and read through SQLite's C API
        // (GRDB binds the arguments), which costs a fraction of a decoded row per value. The
        // columns are NOT NULL numbers (schema v2-market).
        let stmt = try db.cachedStatement(sql: candlesSQL)
        // Setting the arguments resets the statement: a busy one must be refused before.
        try notBusy(stmt)
        try stmt.setArguments([symbol, interval.rawValue, closedByMs, limit])
        var out: [Candle] = []
        out.reserveCapacity(limit)
        try step(stmt) { h in out.append(try candle(h, from: 0)) }
        out.reverse()
        return out
    }

    static let candlesSQL = """
        SELECT open_time_ms, open, high, low, close, volume FROM candles
        WHERE symbol = ? AND interval = ? AND close_time_ms <= ?
        ORDER BY open_time_ms DESC LIMIT ?
        """

    private static let candleColumns = ["open_time_ms", "open", "high", "low", "close", "volume"]

    /// The newest stored open time of each interval that has candles, in one statement.
    public func lastCandleOpenMs(symbol: String, intervals: [Interval]) throws -> [Interval: Int64] {
        guard !intervals.isEmpty else { return [:] }
        return try read { db in
            // One MAX subquery per interval: each is a single seek on the primary key, where a
            // GROUP BY would read every stored candle of the symbol.
            let sql = "SELECT " + repeatElement("(SELECT MAX(open_time_ms) FROM candles WHERE symbol = ? AND interval = ?)", count: intervals.count)
                .joined(separator: ", ")
            // Read strictly: a MAX that is text (a damaged row) is an error, which lets scan delete
            // the symbol's candles and fetch them again.
            let maxima = try Self.rows(db, sql, Self.arguments(intervals.flatMap { [symbol, $0.rawValue] }), table: "candles") { c in
                try intervals.indices.map { try c.optionalInt64(Int32($0), "open_time_ms") }
            }.first ?? []
            var out: [Interval: Int64] = [:]
            for (interval, ms) in zip(intervals, maxima) { if let ms { out[interval] = ms } }
            return out
        }
    }

    /// Every stored candle of `symbol` (they are fetched again from the exchange).
    public func deleteCandles(symbol: String) throws {
        try writeOne { db in try db.execute(sql: "DELETE FROM candles WHERE symbol = ?", arguments: [symbol]) }
    }

    /// Keeps the candle table bounded: cron runs forever.
    public func pruneCandles(olderThanMs: Int64) throws {
        try writeOne { db in try db.cachedStatement(sql: "DELETE FROM candles WHERE open_time_ms < ?").execute(arguments: [olderThanMs]) }
    }

    // MARK: candidates

    public struct Candidate: Sendable, Equatable {
        public var id: Int64
        public var symbol: String
        public var createdAtMs: Int64
        public var lastClose: Double
        public var score: Double
    }

    public func addCandidate(symbol: String, atMs: Int64, lastClose: Double, score: Double) throws {
        try write { db in try Self.addCandidate(db, symbol: symbol, atMs: atMs, lastClose: lastClose, score: score) }
    }

    static func addCandidate(_ db: Database, symbol: String, atMs: Int64, lastClose: Double, score: Double) throws {
        try db.cachedStatement(sql: "UPDATE candidates SET status = 'expired' WHERE symbol = ? AND status = 'fresh'").execute(arguments: [symbol])
        try db.cachedStatement(sql: "INSERT INTO candidates (symbol, created_at_ms, last_close, score) VALUES (?, ?, ?, ?)").execute(
                       arguments: [symbol, atMs, lastClose, score])
    }

    /// Fresh candidates; older ones are expired, never returned, so a slow analyze never acts on
    /// stale data. Most runs find none stale: one read, and a write only when there are.
    public func freshCandidates(nowMs: Int64, maxAgeMs: Int64) throws -> [Candidate] {
        let stored = try read { db in
            try Self.rows(db, Self.freshCandidatesSQL, table: "candidates") { c in
                Candidate(id: try c.int64(0, "id"), symbol: try c.text(1, "symbol"), createdAtMs: try c.int64(2, "created_at_ms"),
                          lastClose: try c.double(3, "last_close"), score: try c.double(4, "score"))
            }
        }
        // Best first, then oldest (created, then id), as the ORDER BY on the status index gave;
        // sorted here, as the ORDER BY built a sorter every run.
        let all = stored.sorted { ($0.score, $1.createdAtMs, $1.id) > ($1.score, $0.createdAtMs, $0.id) }
        let oldest = nowMs - maxAgeMs
        guard all.contains(where: { $0.createdAtMs < oldest }) else { return all }
        try writeOne { db in
            try db.cachedStatement(sql: "UPDATE candidates SET status = 'expired' WHERE status = 'fresh' AND created_at_ms < ?").execute(arguments: [oldest])
        }
        return all.filter { $0.createdAtMs >= oldest }
    }

    static let freshCandidatesSQL = "SELECT id, symbol, created_at_ms, last_close, score FROM candidates WHERE status = 'fresh'"

    // MARK: signals

    public struct StoredSignal: Sendable, Equatable {
        public var id: Int64
        public var symbol: String
        public var createdAtMs: Int64
        public var signal: Signal
        public var referencePrice: Double
        public var status: String
        public var decision: String?
        public var chartHashes: String
    }

    /// - Parameter noDirectionDecision: the decision on a signal with no direction, which has
    ///   nothing for the gate to decide: such a signal is stored 'rejected' with it, and trade
    ///   never reads it. A signal with a direction is stored 'fresh' for the gate whatever is given.
    @discardableResult
    public func storeSignal(candidateId: Int64?, symbol: String, atMs: Int64, signal: Signal, referencePrice: Double, chartHashes: [String],
                            noDirectionDecision: String? = nil) throws -> Int64 {
        let rejected = signal.direction == .none ? noDirectionDecision : nil
        return try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO signals (candidate_id, symbol, created_at_ms, direction, confidence, rationale, model,
                    prompt_tokens, completion_tokens, cost_usd, chart_hashes, reference_price, timeframe_agreement, status, decision)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [candidateId, symbol, atMs, signal.direction.rawValue, signal.confidence, signal.rationale, signal.model,
                                 signal.promptTokens, signal.completionTokens, String(signal.costUSD), chartHashes.joined(separator: ","),
                                 referencePrice, signal.timeframeAgreement?.rawValue, rejected == nil ? "fresh" : "rejected", rejected])
            let id = db.lastInsertedRowID
            if let candidateId {
                try db.cachedStatement(sql: "UPDATE candidates SET status = 'analyzed' WHERE id = ?").execute(arguments: [candidateId])
            }
            return id
        }
    }

    /// Fresh signals; older ones are expired, never returned (a write only when there are).
    public func freshSignals(nowMs: Int64, maxAgeMs: Int64) throws -> [StoredSignal] {
        let all = try read { db in
            try Self.rows(db, Self.freshSignalsSQL, table: "signals", Self.signal)
        }.sorted { ($0.signal.confidence, $1.id) > ($1.signal.confidence, $0.id) }  // as ORDER BY confidence DESC, id, without a sorter per run
        let oldest = nowMs - maxAgeMs
        guard all.contains(where: { $0.createdAtMs < oldest }) else { return all }
        try writeOne { db in
            try db.cachedStatement(sql: "UPDATE signals SET status = 'expired', decision = 'expired before trade' WHERE status = 'fresh' AND created_at_ms < ?").execute(
                           arguments: [oldest])
        }
        return all.filter { $0.createdAtMs >= oldest }
    }

    static let freshSignalsSQL = "SELECT \(signalColumns()) FROM signals WHERE status = 'fresh'"

    public func signals() throws -> [StoredSignal] {
        try read { db in try Self.rows(db, "SELECT \(Self.signalColumns()) FROM signals ORDER BY id", table: "signals", Self.signal) }
    }

    /// The columns ``signal(_:)`` reads, in its order (`prefix`: a table alias and its dot).
    static func signalColumns(_ prefix: String = "") -> String {
        ["id", "symbol", "created_at_ms", "direction", "confidence", "rationale", "model", "prompt_tokens", "completion_tokens", "cost_usd",
         "timeframe_agreement", "reference_price", "status", "decision", "chart_hashes"].map { prefix + $0 }.joined(separator: ", ")
    }

    /// A signals row of ``signalColumns(_:)``; a value that does not read is an error, never a
    /// default (a direction read as "none" would hide a stored trade signal from the scorecard).
    static func signal(_ c: StatementColumns) throws -> StoredSignal {
        let cost = try c.text(9, "cost_usd")
        guard let costUSD = Double(cost) else { throw RowDecodingError(table: "signals", column: "cost_usd", value: cost) }
        let agreement: TimeframeAgreement? = try c.optionalText(10, "timeframe_agreement").map { s in
            guard let a = TimeframeAgreement(rawValue: s) else { throw RowDecodingError(table: "signals", column: "timeframe_agreement", value: s) }
            return a
        }
        return StoredSignal(id: try c.int64(0, "id"), symbol: try c.text(1, "symbol"), createdAtMs: try c.int64(2, "created_at_ms"),
                            signal: Signal(direction: try c.enumValue(3, "direction"), confidence: try c.double(4, "confidence"),
                                           rationale: try c.text(5, "rationale"), model: try c.text(6, "model"),
                                           promptTokens: Int(try c.int64(7, "prompt_tokens")), completionTokens: Int(try c.int64(8, "completion_tokens")),
                                           costUSD: costUSD, timeframeAgreement: agreement),
                            referencePrice: try c.double(11, "reference_price"), status: try c.text(12, "status"),
                            decision: try c.optionalText(13, "decision"), chartHashes: try c.text(14, "chart_hashes"))
    }

    public func decideSignal(_ id: Int64, status: String, decision: String) throws {
        try writeOne { db in
            try db.cachedStatement(sql: "UPDATE signals SET status = ?, decision = ? WHERE id = ?").execute(arguments: [status, decision, id])
        }
    }
}
