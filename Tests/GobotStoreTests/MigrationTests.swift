import Foundation
import GobotCore
import GRDB
import Testing
@testable import GobotStore

@Suite struct MigrationTests {
    @Test func anOldDatabaseIsUpgradedWithoutLosingRows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-mig-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gobot.sqlite").path

        // Given a database left by a version that only had the first migration
        do {
            let old = try GobotDatabase.open(path: path, migrateUpTo: "v1-foundation")
            #expect(try old.appliedMigrations() == ["v1-foundation"])
            _ = try old.startRun(step: "scan", atMs: 1)
            try old.audit(atMs: 2, actor: "old", action: "event", detail: "before upgrade")
            try old.setHalted(true, reason: "old halt", actor: "old", atMs: 3)
            let hasOrders = try old.read { try $0.tableExists("orders") }
            #expect(!hasOrders)
        }

        // When the current version opens it
        let db = try GobotDatabase.open(path: path)

        // Then every migration is applied and the old rows are intact
        #expect(try db.appliedMigrations() == GobotDatabase.migrationNames)
        #expect(GobotDatabase.migrationNames.last == "v13-position-indexes")
        #expect(try db.runs(step: "scan").count == 1)
        #expect(try db.haltState().reason == "old halt")
        #expect(try db.verifyAudit() == .valid(entries: 2))
        let tables = try db.read { db in try ["candles", "signals", "orders", "positions", "ledger", "rate_budget"].map { try db.tableExists($0) } }
        #expect(tables.allSatisfy { $0 })
        let mode = try db.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    /// v10 rebuilds signal_labels to admit the terminal outcome 'unavailable': the labels already
    /// stored survive it, and an unavailable one is stored and read back.
    @Test func theUnavailableLabelMigrationKeepsTheStoredLabels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-mig-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gobot.sqlite").path
        func label(_ id: Int64, _ outcome: SignalLabel.Outcome) -> SignalLabel {
            SignalLabel(signalId: id, symbol: "XRPUSDT", model: "m", direction: .long, confidence: 0.8, signalAtMs: 1, outcome: outcome, r: 1.5,
                        costUSD: 0.01, timeframeAgreement: .aligned)
        }
        let signal = Signal(direction: .long, confidence: 0.8, rationale: "t", model: "m")
        do {
            let old = try GobotDatabase.open(path: path, migrateUpTo: "v9-speed")
            let id = try old.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 1, signal: signal, referencePrice: 2, chartHashes: [])
            try old.storeLabel(label(id, .hit), atMs: 2)
            // The old CHECK refuses it, out loud (INSERT OR IGNORE used to skip such a row without a word).
            let second = try old.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 1, signal: signal, referencePrice: 2, chartHashes: [])
            #expect(throws: DatabaseError.self) { try old.storeLabel(label(second, .unavailable), atMs: 2) }
            #expect(try old.signalLabels().count == 1)
        }
        let db = try GobotDatabase.open(path: path)
        let id = try db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 1, signal: signal, referencePrice: 2, chartHashes: [])
        try db.storeLabel(label(id, .unavailable), atMs: 3)
        let labels = try db.signalLabels()
        #expect(labels.map(\.outcome) == [.hit, .unavailable] && labels.first == label(1, .hit), "\(labels)")
    }

    /// v11 gives the paper exchange's income records their fill's trade id: the records already
    /// stored stay, with none (a fee then matches by time, asset and amount, as before).
    @Test func thePaperIncomeTradeIdMigrationKeepsTheStoredRecords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-mig-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gobot.sqlite").path
        do {
            let old = try GobotDatabase.open(path: path, migrateUpTo: "v10-unavailable-label")
            try old.write { try $0.execute(sql: "INSERT INTO paper_income (symbol, type, income, time_ms) VALUES ('XRPUSDT', 'COMMISSION', '-0.005', 1)") }
        }
        let db = try GobotDatabase.open(path: path)
        let rows = try db.read { db in
            try Row.fetchAll(db, sql: "SELECT income, trade_id FROM paper_income").map { ($0["income"] as String?, $0["trade_id"] as Int64?) }
        }
        #expect(rows.count == 1 && rows[0].0 == "-0.005" && rows[0].1 == nil)
    }

    /// v12 rebuilds candidates and signals with their CHECKs written as `=` comparisons: the rows,
    /// ids and AUTOINCREMENT sequences survive it, the same values are refused, and the writes
    /// every cron cycle makes no longer build a temporary b-tree per IN list.
    @Test func theChecksWithoutInMigrationKeepsRowsIdsAndRefusals() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-mig-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gobot.sqlite").path
        let signal = Signal(direction: .short, confidence: 0.8, rationale: "t", model: "m", timeframeAgreement: .mixed)
        func ephemeralTables(_ db: GobotDatabase, _ sql: String, _ arguments: StatementArguments) throws -> Int {
            // Compiled on the writer, where these statements run (the pool's read-only readers compiled them without their checks).
            try db.write { db in try Row.fetchAll(db, sql: "EXPLAIN " + sql, arguments: arguments).filter { ($0["opcode"] as String) == "OpenEphemeral" }.count }
        }
        let writes: [(String, StatementArguments)] = [
            ("INSERT INTO candidates (symbol, created_at_ms, last_close, score) VALUES (?, ?, ?, ?)", ["XRPUSDT", 1, 2.0, 1.0]),
            ("UPDATE candidates SET status = 'analyzed' WHERE id = ?", [1]),
            ("""
             INSERT INTO signals (candidate_id, symbol, created_at_ms, direction, confidence, rationale, model, reference_price, timeframe_agreement)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             """, [1, "XRPUSDT", 1, "long", 0.8, "r", "m", 2.0, "aligned"]),
            ("UPDATE signals SET status = ?, decision = ? WHERE id = ?", ["rejected", "x", 1]),
        ]
        do {
            let old = try GobotDatabase.open(path: path, migrateUpTo: "v11-paper-income-trade-id")
            try old.addCandidate(symbol: "XRPUSDT", atMs: 1, lastClose: 2, score: 1)
            try old.addCandidate(symbol: "XRPUSDT", atMs: 2, lastClose: 2, score: 1)  // expires the first
            try old.addCandidate(symbol: "BTCUSDT", atMs: 2, lastClose: 2, score: 1)
            #expect(try old.freshCandidates(nowMs: 2, maxAgeMs: 10).map(\.id) == [2, 3])
            _ = try old.storeSignal(candidateId: 2, symbol: "XRPUSDT", atMs: 2, signal: signal, referencePrice: 2, chartHashes: ["h"])
            let last = try old.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 3, signal: signal, referencePrice: 2, chartHashes: [])
            // A position and a label that refer to the first signal, rebuilt under them.
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO positions (symbol, side, signal_id, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms)
                    VALUES ('XRPUSDT', 'short', 1, '5', '2', '2.04', '1.92', '10', 'open', 3)
                    """)
            }
            try old.storeLabel(SignalLabel(signalId: 1, symbol: "XRPUSDT", model: "m", direction: .short, confidence: 0.8, signalAtMs: 2,
                                           outcome: .hit, r: 2, costUSD: 0, timeframeAgreement: .mixed), atMs: 4)
            // A row deleted at the end leaves the sequence above the largest id.
            try old.write { try $0.execute(sql: "DELETE FROM signals WHERE id = ?", arguments: [last]) }
            let oldPlans = try writes.map { try ephemeralTables(old, $0.0, $0.1) }
            #expect(oldPlans == [1, 1, 3, 1], "\(oldPlans)")
        }
        let db = try GobotDatabase.open(path: path)
        // The rebuilt tables went through the WAL: the open that migrated truncates it.
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
        #expect(wal == 0)
        #expect(try writes.map { try ephemeralTables(db, $0.0, $0.1) } == [0, 0, 0, 0])
        let before = try db.read { db in try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence WHERE name IN ('candidates', 'signals') ORDER BY name")
            .map { "\($0["name"] as String) \($0["seq"] as Int64)" } }
        #expect(before == ["candidates 3", "signals 2"])
        let signals = try db.signals()
        #expect(signals.count == 1 && signals[0].signal.direction == .short && signals[0].signal.timeframeAgreement == .mixed, "\(signals)")
        #expect(try db.freshCandidates(nowMs: 2, maxAgeMs: 10).map(\.id) == [3])
        // The next id continues after the deleted one; a value outside each list is still refused.
        #expect(try db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: 4, signal: signal, referencePrice: 2, chartHashes: []) == 3)
        for bad in ["UPDATE signals SET status = 'bogus' WHERE id = 3", "UPDATE signals SET direction = 'up' WHERE id = 3",
                    "UPDATE signals SET timeframe_agreement = 'none' WHERE id = 3", "UPDATE candidates SET status = 'Fresh' WHERE id = 3"] {
            #expect(throws: DatabaseError.self, "\(bad)") { try db.write { try $0.execute(sql: bad) } }
        }
        try db.write { try $0.execute(sql: "UPDATE signals SET timeframe_agreement = NULL, status = 'recorded' WHERE id = 3") }
        // The tables that refer to them still do.
        let keys = try db.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(positions)").map { $0["table"] as String } }
        #expect(keys.contains("signals"))
        #expect(try db.livePositions().map(\.signalId) == [1] && db.signalLabels().map(\.signalId) == [1])
        let insert = "INSERT INTO positions (symbol, side, signal_id, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms) VALUES ('BTCUSDT', 'long', ?, '1', '1', '1', '1', '1', 'closed', 5)"
        #expect {
            try db.write { try $0.execute(sql: insert, arguments: [999]) }
        } throws: { ($0 as? DatabaseError)?.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY }
        try db.write { try $0.execute(sql: insert, arguments: [3]) }  // the signal stored after the migration
        #expect(try db.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count } == 0)
    }
}
