import Digest
import Foundation
import GRDB

/// One entry of the hash-chained audit log.
public struct AuditEntry: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var atMs: Int64
    public var actor: String
    public var action: String
    public var detail: String
    public var prevHash: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case id, actor, action, detail, hash
        case atMs = "at_ms", prevHash = "prev_hash"
    }

    /// SHA-256 over the previous hash and every field, so editing any field or removing a row
    /// breaks the chain from that point on.
    static func computeHash(prevHash: String, id: Int64, atMs: Int64, actor: String, action: String, detail: String) -> String {
        let text = [prevHash, String(id), String(atMs), actor, action, detail].joined(separator: "\u{1F}")
        return SHA256Digest.hex(Data(text.utf8))
    }
}

/// What `gobot audit verify` found.
public enum AuditVerdict: Sendable, Equatable, CustomStringConvertible {
    case valid(entries: Int)
    case broken(atId: Int64, reason: String)

    public var description: String {
        switch self {
        case .valid(let n): "audit chain valid (\(n) entries)"
        case .broken(let id, let reason): "audit chain broken at entry \(id): \(reason)"
        }
    }
}

extension GobotDatabase {
    static let genesisHash = String(repeating: "0", count: 64)
    static let auditHeadKey = "audit_head"

    /// Appends to the audit chain inside the caller's transaction, so the audit row and the change
    /// it describes commit together or not at all.
    public static func appendAudit(_ db: Database, atMs: Int64, actor: String, action: String, detail: String) throws {
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"))
        let prev: String = last?["hash"] ?? genesisHash
        let id: Int64 = (last?["id"] ?? 0) + 1
        let hash = AuditEntry.computeHash(prevHash: prev, id: id, atMs: atMs, actor: actor, action: action, detail: detail)
        try db.execute(
            sql: "INSERT INTO audit (id, at_ms, actor, action, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [id, atMs, actor, action, detail, prev, hash])
        try setValue(db, "\(id):\(hash)", forKey: auditHeadKey, atMs: atMs)
    }

    public func audit(atMs: Int64, actor: String, action: String, detail: String) throws {
        try write { db in try Self.appendAudit(db, atMs: atMs, actor: actor, action: action, detail: detail) }
    }

    public func auditEntries() throws -> [AuditEntry] {
        try read { db in try AuditEntry.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id") }
    }

    /// Walks the chain from the start: detects edited rows, deleted rows (a gap or a broken link)
    /// and a truncated tail (the recorded head no longer matches).
    public func verifyAudit() throws -> AuditVerdict {
        try read { db in
            var prev = Self.genesisHash
            var expectedId: Int64 = 1
            var count = 0
            let cursor = try AuditEntry.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY id")
            while let e = try cursor.next() {
                if e.id != expectedId {
                    return .broken(atId: expectedId, reason: "entry \(expectedId) is missing (next is \(e.id))")
                }
                if e.prevHash != prev {
                    return .broken(atId: e.id, reason: "link to the previous entry does not match")
                }
                let recomputed = AuditEntry.computeHash(prevHash: e.prevHash, id: e.id, atMs: e.atMs,
                                                       actor: e.actor, action: e.action, detail: e.detail)
                if recomputed != e.hash {
                    return .broken(atId: e.id, reason: "contents were changed after they were written")
                }
                prev = e.hash
                expectedId += 1
                count += 1
            }
            let head = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM kv WHERE key = ?"), arguments: [Self.auditHeadKey])
            let actualHead = count == 0 ? nil : "\(expectedId - 1):\(prev)"
            if head != actualHead {
                return .broken(atId: expectedId, reason: "entries after \(expectedId - 1) were removed (recorded head \(head ?? "none"))")
            }
            return .valid(entries: count)
        }
    }
}
