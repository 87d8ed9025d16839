import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

/// Reconcile's money booking against faults between and around its writes: a failure between a
/// funding record's ledger row and its position, an income answer outside the window asked for,
/// a damaged flat sighting.
@Suite struct IncomeBookingTests {
    static let minute: Int64 = 60_000

    static func fundingRows(_ db: GobotDatabase, positionId: Int64) throws -> [Decimal] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT amount_usd FROM ledger WHERE kind = 'funding' AND position_id = ?", arguments: [positionId])
                .map { Decimal(string: $0)! }
        }
    }

    @Test func aFailureBetweenTheLedgerRowAndThePositionLosesNoFunding() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        let p = try #require(try h.db.livePositions().first)
        h.at(minute: 5)
        try IncomeCursorTests.publish(h.db, type: "FUNDING_FEE", amount: "-0.0008", atMs: TradingHarness.t0 + 3 * Self.minute)
        // The process dies (or the write fails) right after the ledger row: the position's funding is not updated.
        try h.db.write {
            try $0.execute(sql: """
                CREATE TRIGGER dies_before_funding BEFORE UPDATE OF funding ON positions
                BEGIN SELECT RAISE(ABORT, 'injected: the process died before the position''s funding'); END
                """)
        }
        let first = try await Steps.reconcile(h.ctx)
        #expect(first.exit == .failed)
        #expect(first.message.contains("injected: the process died before the position's funding"))
        try h.db.write { try $0.execute(sql: "DROP TRIGGER dies_before_funding") }
        h.at(minute: 6)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        // The ledger row was booked only with the position's funding, so the next run booked both.
        let funding = try Self.fundingRows(h.db, positionId: p.id)
        #expect(funding == [Decimal(string: "-0.0008")!])
        #expect(try h.db.position(id: p.id)?.funding == funding.reduce(0, +))
    }

}
