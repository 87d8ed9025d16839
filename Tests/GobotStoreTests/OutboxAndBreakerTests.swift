import Testing
@testable import GobotStore

@Suite struct OutboxTests {
    @Test func sameDedupeKeyIsQueuedOnce() throws {
        let db = try GobotDatabase.inMemory()
        #expect(try db.enqueue(channel: "telegram", kind: "text", payload: "a", dedupeKey: "k1", atMs: 10))
        #expect(try !db.enqueue(channel: "telegram", kind: "text", payload: "a again", dedupeKey: "k1", atMs: 11))
        #expect(try db.outbox().count == 1)
    }

    @Test func failedSendsAreRetriedLaterAndSentOnlyOnce() throws {
        let db = try GobotDatabase.inMemory()
        try db.enqueue(channel: "telegram", kind: "text", payload: "hello", dedupeKey: "k", atMs: 0)
        let first = try #require(try db.dueMessages(atMs: 0).first)
        try db.markFailed(first.id, error: "429", retryAtMs: 5000)
        #expect(try db.dueMessages(atMs: 4999).isEmpty)
        #expect(try db.dueMessages(atMs: 5000).count == 1)
        try db.markSent(first.id, atMs: 5000)
        #expect(try db.dueMessages(atMs: 99_999).isEmpty)
        #expect(try db.outbox().first?.attempts == 2)
    }
}

@Suite struct BreakerTests {
    @Test func opensAfterThresholdAndClosesAfterCooldown() throws {
        let db = try GobotDatabase.inMemory()
        #expect(try !db.recordBreakerFailure("exchange", reason: "503", threshold: 3, cooldownMs: 1000, atMs: 0))
        #expect(try !db.recordBreakerFailure("exchange", reason: "503", threshold: 3, cooldownMs: 1000, atMs: 1))
        #expect(try db.recordBreakerFailure("exchange", reason: "503", threshold: 3, cooldownMs: 1000, atMs: 2))
        #expect(try db.breaker("exchange").isOpen(atMs: 500))
        #expect(try !db.breaker("exchange").isOpen(atMs: 1002))
        try db.recordBreakerSuccess("exchange", atMs: 1003)
        #expect(try db.breaker("exchange").failures == 0)
        #expect(try db.auditEntries().map(\.action) == ["breaker_open"])
    }
}
