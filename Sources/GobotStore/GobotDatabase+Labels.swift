import GobotCore
import GRDB

/// The scorecard's labels (migration v6-edge) and the candles they are judged on.
extension GobotDatabase {
    /// Directional signals not labelled yet, oldest first.
    public func unlabelledSignals(createdBeforeMs: Int64, limit: Int = 500) throws -> [StoredSignal] {
        try read { db in
            try Self.rows(db, """
                SELECT \(Self.signalColumns("s.")) FROM signals s LEFT JOIN signal_labels l ON l.signal_id = s.id
                WHERE l.signal_id IS NULL AND s.direction IN ('long','short') AND s.created_at_ms <= ? ORDER BY s.id LIMIT ?
                """, [createdBeforeMs, limit], table: "signals", Self.signal)
        }
    }

    public func storeLabel(_ label: SignalLabel, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO signal_labels (signal_id, symbol, model, direction, confidence, signal_at_ms, outcome, r, cost_usd, labelled_at_ms,
                    timeframe_agreement)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(signal_id) DO NOTHING
                """).execute(arguments: [label.signalId, label.symbol, label.model, label.direction.rawValue, label.confidence, label.signalAtMs,
                                         label.outcome.rawValue, label.r, String(label.costUSD), atMs, label.timeframeAgreement?.rawValue])
        }
    }

    public func signalLabels() throws -> [SignalLabel] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM signal_labels ORDER BY signal_id")).map { row in
                let d: String = row["direction"], o: String = row["outcome"], cost: String = row["cost_usd"], stated: String? = row["timeframe_agreement"]
                let agreement = stated.flatMap(TimeframeAgreement.init(rawValue:))
                guard let direction = Direction(rawValue: d), let outcome = SignalLabel.Outcome(rawValue: o), let costUSD = Double(cost),
                      stated == nil || agreement != nil else {
                    throw LabelDecodeError(message: "signal_labels row \(row["signal_id"] as Int64): direction '\(d)', outcome '\(o)', cost '\(cost)', "
                                           + "timeframe_agreement '\(stated ?? "NULL")'")
                }
                return SignalLabel(signalId: row["signal_id"], symbol: row["symbol"], model: row["model"], direction: direction,
                                   confidence: row["confidence"], signalAtMs: row["signal_at_ms"], outcome: outcome, r: row["r"], costUSD: costUSD,
                                   timeframeAgreement: agreement)
            }
        }
    }

    /// Stored 1m candles of `symbol` opened in [fromMs, toMs), oldest first. Read strictly, as the
    /// other candle reads: a damaged row (a price stored as text) throws `RowDecodingError`
    /// instead of trapping in GRDB's decoding, so the scorecard can delete and fetch again.
    public func candles1m(symbol: String, fromMs: Int64, toMs: Int64) throws -> [Candle] {
        try read { db in
            let stmt = try db.cachedStatement(sql: """
                SELECT open_time_ms, open, high, low, close, volume FROM candles
                WHERE symbol = ? AND interval = '1m' AND open_time_ms >= ? AND open_time_ms < ? ORDER BY open_time_ms
                """)
            try stmt.setArguments([symbol, fromMs, toMs])
            var out: [Candle] = []
            try Self.step(stmt) { h in out.append(try Self.candle(h, from: 0)) }
            return out
        }
    }

    /// Closes a breaker now (the condition that opened it has cleared), with an audit entry.
    /// Returns true when it was open.
    @discardableResult
    public func closeBreaker(_ name: String, reason: String, atMs: Int64) throws -> Bool {
        try write { db in
            let b = try Self.breaker(db, name)
            guard b.isOpen(atMs: atMs) else { return false }
            try db.cachedStatement(sql: "UPDATE breakers SET open_until_ms = ?, reason = ?, updated_at_ms = ? WHERE name = ?").execute(arguments: [atMs, reason, atMs, name])
            try Self.appendAudit(db, atMs: atMs, actor: "gobot", action: "breaker_close", detail: "\(name): \(reason)")
            return true
        }
    }
}

/// A scorecard row that does not decode: fails loudly rather than guessing.
public struct LabelDecodeError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "signal_labels: \(message)" }
}

extension GobotDatabase {
    /// Counts one analyst request skipped because its answer could not have mattered.
    public func recordAnalystSkip(candidateId: Int64, day: String, reason: String, atMs: Int64) throws {
        try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO analyst_skips (day, reason, count) VALUES (?, ?, 1)
                ON CONFLICT(day, reason) DO UPDATE SET count = count + 1
                """).execute(arguments: [day, reason])
            try db.cachedStatement(sql: "UPDATE candidates SET status = 'expired' WHERE id = ?").execute(arguments: [candidateId])
        }
    }

    public func analystSkips(day: String) throws -> [String: Int] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db.cachedStatement(sql: "SELECT reason, count FROM analyst_skips WHERE day = ?"), arguments: [day])
                .map { ($0["reason"] as String, $0["count"] as Int) })
        }
    }

    /// Skipped requests by reason over every day (a backtest's whole run).
    public func analystSkipTotals() throws -> [String: Int] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT reason, SUM(count) AS n FROM analyst_skips GROUP BY reason")
                .map { ($0["reason"] as String, $0["n"] as Int) })
        }
    }

    /// Signals stored (analyst answers) since `fromMs` and what they cost.
    public func analystUsage(fromMs: Int64) throws -> (requests: Int, costUSD: Double) {
        try read { db in
            let costs = try String.fetchAll(db.cachedStatement(sql: "SELECT cost_usd FROM signals WHERE created_at_ms >= ?"), arguments: [fromMs])
            var total = 0.0
            for c in costs {
                guard let v = Double(c) else { throw LabelDecodeError(message: "signals.cost_usd '\(c)' is not a number") }
                total += v
            }
            return (costs.count, total)
        }
    }
}
