import BinanceFutures
import Foundation
import GobotCore
import GobotStore
import Testing
@testable import GobotSteps

@Suite struct DatabaseExchangeStateTests {
    @Test func theWeightBudgetIsSharedBetweenProcessesThroughTheFile() throws {
        let dir = TempDir()
        let a = DatabaseExchangeState(db: try GobotDatabase.open(path: dir.file("s.sqlite")), breakerThreshold: 3, breakerCooldownMs: 1000)
        let b = DatabaseExchangeState(db: try GobotDatabase.open(path: dir.file("s.sqlite")), breakerThreshold: 3, breakerCooldownMs: 1000)
        let now: Int64 = 1_700_000_010_000
        try a.admit(weight: 40, budget: 100, nowMs: now)
        try b.admit(weight: 40, budget: 100, nowMs: now)
        #expect(throws: ExchangeError.rateLimited(untilMs: 1_700_000_040_000)) { try a.admit(weight: 40, budget: 100, nowMs: now) }
        // The exchange's own count (other processes, other tools on this IP) wins when higher.
        try a.recordUsedWeight(95, nowMs: now)
        #expect(throws: ExchangeError.self) { try b.admit(weight: 10, budget: 100, nowMs: now) }
        // A new minute starts a new window.
        try b.admit(weight: 90, budget: 100, nowMs: now + 60_000)
    }

    @Test func theClockSyncKeepsItsRoundTripAndReadsOlderValues() throws {
        let db = try GobotDatabase.inMemory()
        let s = DatabaseExchangeState(db: db, breakerThreshold: 3, breakerCooldownMs: 1000)
        try s.setClockOffset(-2_500, atMs: 1_000, roundTripMs: 2_600)
        #expect(try s.clockSync() == ClockSync(offsetMs: -2_500, syncedAtMs: 1_000, roundTripMs: 2_600))
        #expect(try s.clockOffset()?.offsetMs == -2_500)
        // Written by a gobot from before the round trip was kept: no round trip, the offset counts whole.
        try db.setValue("-2500:1000", forKey: DatabaseExchangeState.offsetKey, atMs: 1_000)
        #expect(try s.clockSync() == ClockSync(offsetMs: -2_500, syncedAtMs: 1_000, roundTripMs: 0))
        // A damaged value is an error for the skew gate and the history windows, and "measure
        // again" for the client, whose next sync overwrites it.
        for damaged in ["garbage", "-2500:", ":1000", "-2500:1000:12:4"] {
            try db.setValue(damaged, forKey: DatabaseExchangeState.offsetKey, atMs: 1_000)
            #expect(throws: GobotStore.RowDecodingError.self) { try s.clockSync() }
            #expect(try s.clockOffset() == nil)
        }
        try s.setClockOffset(-1_200, atMs: 2_000, roundTripMs: 30)
        #expect(try s.clockSync() == ClockSync(offsetMs: -1_200, syncedAtMs: 2_000, roundTripMs: 30))
    }

    @Test func aRecordedBanThatDoesNotReadIsAnErrorNotNoBan() throws {
        let db = try GobotDatabase.inMemory()
        let s = DatabaseExchangeState(db: db, breakerThreshold: 3, breakerCooldownMs: 1000)
        try s.admit(weight: 1, budget: 100, nowMs: 1_700_000_000_000)
        try db.write { try $0.execute(sql: "UPDATE rate_budget SET banned_until_ms = 'soon'") }
        let error = #expect(throws: GobotStore.RowDecodingError.self) { try s.admit(weight: 1, budget: 100, nowMs: 1_700_000_000_000) }
        #expect(error?.column == "banned_until_ms" && error?.value == "soon")
        #expect(error?.description.contains("DELETE FROM rate_budget") == true)
    }

    @Test func anAnalystSpendThatDoesNotReadIsAnErrorNotZero() throws {
        let db = try GobotDatabase.inMemory()
        let ledger = DatabaseAnalystLedger(db: db)
        #expect(try ledger.spentUSD(day: "2026-11-27") == 0)
        try ledger.addSpend(day: "2026-11-27", usd: Decimal(string: "0.75")!)
        #expect(try ledger.spentUSD(day: "2026-11-27") == Decimal(string: "0.75")!)
        try db.write { try $0.execute(sql: "UPDATE analyst_spend SET cost_usd = 'lots'") }
        #expect(throws: GobotStore.RowDecodingError.self) { try ledger.spentUSD(day: "2026-11-27") }
        // Adding to it would have overwritten the unreadable figure with the new cost alone.
        #expect(throws: GobotStore.RowDecodingError.self) { try ledger.addSpend(day: "2026-11-27", usd: 1) }
    }

    @Test func banAndBackoffPersistAndAreAudited() throws {
        let dir = TempDir()
        let db = try GobotDatabase.open(path: dir.file("s.sqlite"))
        let s = DatabaseExchangeState(db: db, breakerThreshold: 3, breakerCooldownMs: 1000)
        try s.recordBan(untilMs: 5_000_000)
        let again = DatabaseExchangeState(db: try GobotDatabase.open(path: dir.file("s.sqlite")), breakerThreshold: 3, breakerCooldownMs: 1000)
        #expect(throws: ExchangeError.banned(untilMs: 5_000_000)) { try again.admit(weight: 1, budget: 100, nowMs: 4_000_000) }
        try again.admit(weight: 1, budget: 100, nowMs: 5_000_001)
        #expect(try db.auditEntries().map(\.action) == ["ip_banned"])
        try s.recordBackoff(untilMs: 6_000_000)
        #expect(throws: ExchangeError.rateLimited(untilMs: 6_000_000)) { try again.admit(weight: 1, budget: 100, nowMs: 5_500_000) }
    }

    @Test func priceCacheExpiresAndBreakerOpensAcrossRuns() throws {
        let db = try GobotDatabase.inMemory()
        let s = DatabaseExchangeState(db: db, breakerThreshold: 2, breakerCooldownMs: 60_000)
        try s.cache("mark.XRPUSDT", value: "2.1", ttlMs: 5_000, nowMs: 0)
        #expect(try s.cached("mark.XRPUSDT", nowMs: 4_999) == "2.1")
        #expect(try s.cached("mark.XRPUSDT", nowMs: 5_000) == nil)
        #expect(try !s.recordFailure(reason: "503", nowMs: 0))
        #expect(try s.recordFailure(reason: "503", nowMs: 1))
        #expect(throws: ExchangeError.breakerOpen(untilMs: 60_001)) { try s.checkBreaker(nowMs: 30_000) }
        try s.checkBreaker(nowMs: 60_001)
    }
}
