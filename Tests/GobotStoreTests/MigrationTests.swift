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
        #expect(GobotDatabase.migrationNames.last == "v11-paper-income-trade-id")
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
}
