import GobotCore
import GRDB
import GRDBSQLite

extension GobotDatabase {
    /// Upserts candles; a candle seen while still open is overwritten once it closes.
    public func storeCandles(symbol: String, interval: Interval, _ candles: [Candle]) throws {
        try storeCandles(symbol: symbol, frames: [(interval, candles)])
    }

    /// Upserts the candles of several intervals in one transaction.
    public func storeCandles(symbol: String, frames: [(interval: Interval, candles: [Candle])]) throws {
        guard frames.contains(where: { !$0.candles.isEmpty }) else { return }
        try write { db in
            let stmt = try db.cachedStatement(sql: """
                INSERT INTO candles (symbol, interval, open_time_ms, open, high, low, close, volume, close_time_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(symbol, interval, open_time_ms) DO UPDATE SET open = excluded.open, high = excluded.high,
                    low = excluded.low, close = excluded.close, volume = excluded.volume
                """)
            for (interval, candles) in frames {
                for c in candles {
                    try stmt.execute(arguments: [symbol, interval.rawValue, c.openTimeMs, c.open, c.high, c.low, c.close, c.volume,
                                                 c.closeTimeMs(interval)])
                }
            }
        }
    }

    /// The latest `limit` candles that closed at or before `closedByMs`, oldest first.
    public func candles(symbol: String, interval: Interval, closedByMs: Int64, limit: Int) throws -> [Candle] {
        try read { db in try Self.candles(db, symbol: symbol, interval: interval, closedByMs: closedByMs, limit: limit) }
    }

    /// The latest candles of each interval in one read (the analyst's three frames).
    public func candles(symbol: String, intervals: [Interval], closedByMs: Int64, limit: Int) throws -> [[Candle]] {
        try read { db in try intervals.map { try Self.candles(db, symbol: symbol, interval: $0, closedByMs: closedByMs, limit: limit) } }
    }

    static func candles(_ db: Database, symbol: String, interval: Interval, closedByMs: Int64, limit: Int) throws -> [Candle] {
        // Every analysis reads 360 candles: they are stepped and read through SQLite's C API
        // (GRDB binds the arguments), which costs a fraction of a decoded row per value. The
        // columns are NOT NULL numbers (schema v2-market).
        let stmt = try db.cachedStatement(sql: """
            SELECT open_time_ms, open, high, low, close, volume FROM candles
            WHERE symbol = ? AND interval = ? AND close_time_ms <= ?
            ORDER BY open_time_ms DESC LIMIT ?
            """)
        try stmt.setArguments([symbol, interval.rawValue, closedByMs, limit])
        let h = stmt.sqliteStatement
        defer { sqlite3_reset(h) }
        var out: [Candle] = []
        out.reserveCapacity(limit)
        while true {
            let code = sqlite3_step(h)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(h))), sql: stmt.sql)
            }
            // sqlite3_column_* read text as 0: a damaged row must stop the analysis, not chart a
            // price of 0 (the columns are INTEGER and REAL; an integral REAL is stored as an integer).
            for c: Int32 in 0...5 {
                let type = sqlite3_column_type(h, c)
                guard type == SQLITE_INTEGER || (c > 0 && type == SQLITE_FLOAT) else {
                    throw RowDecodingError(table: "candles", column: Self.candleColumns[Int(c)],
                                           value: sqlite3_column_text(h, c).map { String(cString: $0) } ?? "")
                }
            }
            out.append(Candle(openTimeMs: sqlite3_column_int64(h, 0), open: sqlite3_column_double(h, 1), high: sqlite3_column_double(h, 2),
                              low: sqlite3_column_double(h, 3), close: sqlite3_column_double(h, 4), volume: sqlite3_column_double(h, 5)))
        }
        out.reverse()
        return out
    }

    private static let candleColumns = ["open_time_ms", "open", "high", "low", "close", "volume"]

    public func lastCandleOpenMs(symbol: String, interval: Interval) throws -> Int64? {
        try read { db in try Self.lastCandleOpenMs(db, symbol: symbol, interval: interval) }
    }

    /// The newest stored open time of each interval that has candles, in one read.
    public func lastCandleOpenMs(symbol: String, intervals: [Interval]) throws -> [Interval: Int64] {
        try read { db in
            // One MAX per interval: each is a single seek on the primary key, where a GROUP BY
            // would read every stored candle of the symbol.
            var out: [Interval: Int64] = [:]
            for interval in intervals { out[interval] = try Self.lastCandleOpenMs(db, symbol: symbol, interval: interval) }
            return out
        }
    }

    static func lastCandleOpenMs(_ db: Database, symbol: String, interval: Interval) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(open_time_ms) FROM candles WHERE symbol = ? AND interval = ?"),
                           arguments: [symbol, interval.rawValue])
    }

    /// Every stored candle of `symbol` (they are fetched again from the exchange).
    public func deleteCandles(symbol: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM candles WHERE symbol = ?", arguments: [symbol]) }
    }

    /// Keeps the candle table bounded: cron runs forever.
    public func pruneCandles(olderThanMs: Int64) throws {
        try write { db in try db.cachedStatement(sql: "DELETE FROM candles WHERE open_time_ms < ?").execute(arguments: [olderThanMs]) }
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
        try write { db in
            try db.cachedStatement(sql: "UPDATE candidates SET status = 'expired' WHERE symbol = ? AND status = 'fresh'").execute(arguments: [symbol])
            try db.cachedStatement(sql: "INSERT INTO candidates (symbol, created_at_ms, last_close, score) VALUES (?, ?, ?, ?)").execute(
                           arguments: [symbol, atMs, lastClose, score])
        }
    }

    /// Fresh candidates; older ones are expired first so a slow analyze never acts on stale data.
    public func freshCandidates(nowMs: Int64, maxAgeMs: Int64) throws -> [Candidate] {
        try write { db in
            try db.cachedStatement(sql: "UPDATE candidates SET status = 'expired' WHERE status = 'fresh' AND created_at_ms < ?").execute(
                           arguments: [nowMs - maxAgeMs])
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM candidates WHERE status = 'fresh' ORDER BY score DESC")).map {
                Candidate(id: $0["id"], symbol: $0["symbol"], createdAtMs: $0["created_at_ms"], lastClose: $0["last_close"], score: $0["score"])
            }
        }
    }

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

    @discardableResult
    public func storeSignal(candidateId: Int64?, symbol: String, atMs: Int64, signal: Signal, referencePrice: Double, chartHashes: [String]) throws -> Int64 {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO signals (candidate_id, symbol, created_at_ms, direction, confidence, rationale, model,
                    prompt_tokens, completion_tokens, cost_usd, chart_hashes, reference_price, timeframe_agreement)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [candidateId, symbol, atMs, signal.direction.rawValue, signal.confidence, signal.rationale, signal.model,
                                 signal.promptTokens, signal.completionTokens, String(signal.costUSD), chartHashes.joined(separator: ","),
                                 referencePrice, signal.timeframeAgreement?.rawValue])
            let id = db.lastInsertedRowID
            if let candidateId {
                try db.cachedStatement(sql: "UPDATE candidates SET status = 'analyzed' WHERE id = ?").execute(arguments: [candidateId])
            }
            return id
        }
    }

    public func freshSignals(nowMs: Int64, maxAgeMs: Int64) throws -> [StoredSignal] {
        try write { db in
            try db.cachedStatement(sql: "UPDATE signals SET status = 'expired', decision = 'expired before trade' WHERE status = 'fresh' AND created_at_ms < ?").execute(
                           arguments: [nowMs - maxAgeMs])
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM signals WHERE status = 'fresh' ORDER BY confidence DESC, id")).map(Self.signal)
        }
    }

    public func signals() throws -> [StoredSignal] {
        try read { db in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM signals ORDER BY id")).map(Self.signal) }
    }

    static func signal(_ row: Row) throws -> StoredSignal {
        let stated: String? = row["timeframe_agreement"]
        let agreement = try stated.map { s in
            guard let a = TimeframeAgreement(rawValue: s) else { throw LabelDecodeError(message: "signals row \(row["id"] as Int64): timeframe_agreement '\(s)'") }
            return a
        }
        return StoredSignal(id: row["id"], symbol: row["symbol"], createdAtMs: row["created_at_ms"],
                     signal: Signal(direction: Direction(rawValue: row["direction"]) ?? .none, confidence: row["confidence"],
                                    rationale: row["rationale"], model: row["model"], promptTokens: row["prompt_tokens"],
                                    completionTokens: row["completion_tokens"], costUSD: Double(row["cost_usd"] as String) ?? 0,
                                    timeframeAgreement: agreement),
                     referencePrice: row["reference_price"], status: row["status"], decision: row["decision"],
                     chartHashes: row["chart_hashes"])
    }

    public func decideSignal(_ id: Int64, status: String, decision: String) throws {
        try write { db in
            try db.cachedStatement(sql: "UPDATE signals SET status = ?, decision = ? WHERE id = ?").execute(arguments: [status, decision, id])
        }
    }
}
