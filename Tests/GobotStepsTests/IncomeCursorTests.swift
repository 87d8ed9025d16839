import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

/// Reconcile stores its income cursor only when the window it read held records, else once the
/// cursor moved `incomeCursorStrideMs` (d14100d, e0eebcb): the runs in between read history
/// again, and booking by ref must keep every record in the ledger exactly once.
@Suite struct IncomeCursorTests {
    static let minute: Int64 = 60_000
    static let bookable: Set<String> = ["REALIZED_PNL", "COMMISSION", "FUNDING_FEE", "INSURANCE_CLEAR"]

    struct Published: Hashable { var ref: String; var amount: Decimal; var timeMs: Int64 }

    /// What the exchange's income history holds (the paper exchange's books), as ledger refs.
    static func published(_ db: GobotDatabase) throws -> [Published] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT id, type, income, time_ms FROM paper_income ORDER BY id").compactMap { row -> Published? in
                let type: String = row["type"]
                guard bookable.contains(type) else { return nil }
                return Published(ref: "\(type):paper-\(row["id"] as Int64)", amount: try row.decimal("income", table: "paper_income"), timeMs: row["time_ms"])
            }
        }
    }

    static func incomeTimes(_ db: GobotDatabase) throws -> [Int64] {
        try db.read { try Int64.fetchAll($0, sql: "SELECT time_ms FROM paper_income") }
    }

    /// A record the exchange publishes now for an earlier time (funding and commission may come late).
    static func publish(_ db: GobotDatabase, type: String, amount: String, atMs: Int64) throws {
        try db.write {
            try $0.execute(sql: "INSERT INTO paper_income (symbol, type, income, time_ms) VALUES ('XRPUSDT', ?, ?, ?)", arguments: [type, amount, atMs])
        }
    }

    @Test func everyIncomeRecordIsBookedOnceWhicheverRunsStoreTheCursor() async throws {
        let t0 = TradingHarness.t0, minute = Self.minute
        let overlap = Steps.incomeOverlapMs, stride = Steps.incomeCursorStrideMs
        // A long entered at minute 1 is held across the 08:00 funding (minute 480) and stopped out
        // when the price drops at minute 500: the paper exchange's own commission, funding and
        // realized P&L arrive among the records published below.
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 500) + Array(repeating: 1.95, count: 100),
                                   funding: [t0 + 480 * minute: 0.0001], slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        // Reconcile every 1 to 9 minutes, stopped for 150 minutes once (before run 55) in a stretch
        // without new records (runs 50 to 74); run 40 finds its cursor set back two hours and run 90
        // finds none (a run that booked and crashed before storing it).
        var runs: [Int64] = []
        var t = t0 + 2 * minute + 7_000
        let gaps: [Int64] = [1, 2, 3, 5, 7, 9, 4, 1, 6]
        while t < t0 + 560 * minute {
            runs.append(t)
            t += (runs.count == 55 ? 150 : gaps[runs.count % gaps.count]) * minute
        }
        var unstored = 0, strideStores = 0, rereadBooked = 0
        for (i, now) in runs.enumerated() {
            h.clock.set(now)
            if i == 40 { try h.db.setValue(String(now - 2 * 3_600_000), forKey: "income_cursor_ms", atMs: now) }
            if i == 90 { try h.db.write { try $0.execute(sql: "DELETE FROM kv WHERE key = 'income_cursor_ms'") } }
            let saved = Int64(try h.db.value(forKey: "income_cursor_ms") ?? "")
            let previous = i > 0 ? runs[i - 1] : nil
            // Records published since the last run, at the edges of this run's window and inside the overlap.
            let amount = "-0.000\(100 + i)"
            switch (50..<75).contains(i) ? -1 : i % 5 {
            case -1: break
            case 0: try Self.publish(h.db, type: "FUNDING_FEE", amount: amount, atMs: now)  // the window's end
            case 1: if let saved { try Self.publish(h.db, type: "COMMISSION", amount: amount, atMs: saved) }  // its start
            case 2: try Self.publish(h.db, type: "FUNDING_FEE", amount: amount, atMs: now - overlap)  // late by the whole overlap
            case 3: if let previous, now - previous < overlap {
                try Self.publish(h.db, type: "COMMISSION", amount: amount, atMs: previous - 1)  // before the last run's end, published after it
            }
            case 4: if let previous { try Self.publish(h.db, type: "FUNDING_FEE", amount: amount, atMs: previous) }  // the last run's end
            default: break
            }
            let bookedBefore = Set(try h.db.read { try String.fetchAll($0, sql: "SELECT ref FROM ledger") })
            let start = saved ?? (TradingCalendar.startOfDay(now) - 7 * TradingCalendar.dayMs)
            let bookedInWindow = try Self.published(h.db).filter { bookedBefore.contains($0.ref) && (start...now).contains($0.timeMs) }.count
            _ = try await Steps.reconcile(h.ctx)

            // The cursor: stored when its window held records or it moved a stride, else left as it was.
            let held = try Self.incomeTimes(h.db).contains { (start...now).contains($0) }
            let stores = saved == nil || held || now - overlap - saved! >= stride
            let cursor = Int64(try h.db.value(forKey: "income_cursor_ms") ?? "")
            #expect(cursor == (stores ? now - overlap : saved), "run \(i) at minute \((now - t0) / minute): held records \(held)")
            if !stores { unstored += 1 }
            if stores && !held && saved != nil { strideStores += 1 }
            if bookedInWindow > 0 { rereadBooked += 1 }

            // The ledger holds every published record exactly once, with its amount.
            let published = try Self.published(h.db)
            let ledger = try h.db.read { db in
                try Row.fetchAll(db, sql: "SELECT ref, amount_usd, at_ms FROM ledger").map {
                    Published(ref: $0["ref"], amount: try $0.decimal("amount_usd", table: "ledger"), timeMs: $0["at_ms"])
                }
            }
            #expect(ledger.count == published.count, "run \(i) at minute \((now - t0) / minute)")
            #expect(Set(ledger) == Set(published), "run \(i) at minute \((now - t0) / minute)")
            #expect(ledger.map(\.amount).reduce(0, +) == published.map(\.amount).reduce(0, +))
        }
        // The schedule met what the stride is about: runs that left the cursor where it was, and
        // windows that brought back records already booked.
        #expect(unstored > 10)
        #expect(strideStores > 0)
        #expect(rereadBooked > 10)
        // The position's funding counts each funding record of its life once.
        let p = try #require(try h.db.positions().first)
        #expect(p.status == "closed")
        let funding = try h.db.read { db in
            try String.fetchAll(db, sql: "SELECT amount_usd FROM ledger WHERE kind = 'funding' AND position_id = ?", arguments: [p.id]).map { Decimal(string: $0)! }
        }
        #expect(funding.count > 1)
        #expect(p.funding == funding.reduce(0, +))
    }
}
