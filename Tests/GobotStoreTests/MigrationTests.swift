import Foundation
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
        #expect(GobotDatabase.migrationNames.last == "v9-speed")
        #expect(try db.runs(step: "scan").count == 1)
        #expect(try db.haltState().reason == "old halt")
        #expect(try db.verifyAudit() == .valid(entries: 2))
        let tables = try db.read { db in try ["candles", "signals", "orders", "positions", "ledger", "rate_budget"].map { try db.tableExists($0) } }
        #expect(tables.allSatisfy { $0 })
        let mode = try db.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }
}
