import Foundation
import GRDB
import Testing
@testable import GobotStore

@Suite struct AuditChainTests {
    func seeded() throws -> GobotDatabase {
        let db = try GobotDatabase.inMemory()
        for i in 1...5 {
            try db.audit(atMs: Int64(i) * 1000, actor: "test", action: "event", detail: "entry \(i)")
        }
        return db
    }

    @Test func untouchedChainVerifies() throws {
        #expect(try seeded().verifyAudit() == .valid(entries: 5))
    }

    @Test func editedDetailIsDetected() throws {
        let db = try seeded()
        try db.write { try $0.execute(sql: "UPDATE audit SET detail = 'entry 3, rewritten' WHERE id = 3") }
        #expect(try db.verifyAudit() == .broken(atId: 3, reason: "contents were changed after they were written"))
    }

    @Test func editedRowWithRecomputedHashBreaksTheNextLink() throws {
        let db = try seeded()
        let e = try db.auditEntries()[2]
        let forged = AuditEntry.computeHash(prevHash: e.prevHash, id: 3, atMs: e.atMs, actor: e.actor, action: e.action, detail: "forged")
        try db.write { try $0.execute(sql: "UPDATE audit SET detail = 'forged', hash = ? WHERE id = 3", arguments: [forged]) }
        #expect(try db.verifyAudit() == .broken(atId: 4, reason: "link to the previous entry does not match"))
    }

    @Test func deletedMiddleRowIsDetected() throws {
        let db = try seeded()
        try db.write { try $0.execute(sql: "DELETE FROM audit WHERE id = 2") }
        #expect(try db.verifyAudit() == .broken(atId: 2, reason: "entry 2 is missing (next is 3)"))
    }

    @Test func deletedTailIsDetected() throws {
        let db = try seeded()
        try db.write { try $0.execute(sql: "DELETE FROM audit WHERE id = 5") }
        guard case .broken(let id, let reason) = try db.verifyAudit() else {
            Issue.record("truncation not detected")
            return
        }
        #expect(id == 5)
        #expect(reason.hasPrefix("entries after 4 were removed"))
    }

    @Test func haltWritesStateAndAuditTogether() throws {
        let db = try GobotDatabase.inMemory()
        try db.setHalted(true, reason: "drill", actor: "cli", atMs: 42)
        #expect(try db.haltState() == HaltState(halted: true, reason: "drill", actor: "cli", sinceMs: 42))
        #expect(try db.auditEntries().map(\.action) == ["halt"])
        try db.setHalted(false, reason: "done", actor: "cli", atMs: 43)
        #expect(try db.haltState().halted == false)
        #expect(try db.verifyAudit() == .valid(entries: 2))
    }
}
