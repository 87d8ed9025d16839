import Analysts
import Foundation
import GobotCore
import GobotStore
import GRDB

/// The vision analyst's answer cache and daily spend, in the shared database.
public struct DatabaseAnalystLedger: AnalystLedger {
    let db: GobotDatabase
    public init(db: GobotDatabase) { self.db = db }

    public func cachedAnswer(key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT response FROM analyst_cache WHERE key = ?", arguments: [key]) }
    }

    public func storeAnswer(key: String, body: String, atMs: Int64) throws {
        try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO analyst_cache (key, response, created_at_ms) VALUES (?, ?, ?)", arguments: [key, body, atMs]) }
    }

    public func spentUSD(day: String) throws -> Decimal {
        try db.read { db in try Self.spent(db, day: day) }
    }

    /// Nothing spent yet is 0; a stored figure that does not read is an error, never 0 (which
    /// would loosen the daily budget and then be overwritten).
    static func spent(_ db: Database, day: String) throws -> Decimal {
        guard let row = try Row.fetchOne(db, sql: "SELECT cost_usd FROM analyst_spend WHERE day = ?", arguments: [day]) else { return 0 }
        return try row.decimal("cost_usd", table: "analyst_spend")
    }

    public func addSpend(day: String, usd: Decimal) throws {
        try db.write { db in
            let current = try Self.spent(db, day: day)
            try db.execute(sql: """
                INSERT INTO analyst_spend (day, cost_usd, calls) VALUES (?, ?, 1)
                ON CONFLICT(day) DO UPDATE SET cost_usd = excluded.cost_usd, calls = calls + 1
                """, arguments: [day, (current + usd).plainString])
        }
    }
}

extension VisionError: ExitCodeProviding {
    public var stepExit: StepExit {
        switch self {
        case .unauthorized, .forbidden: .badConfig
        case .rateLimited, .unavailable: .tryLater
        case .badRequest, .quotaExhausted, .budgetExhausted, .badAnswer: .failed
        }
    }
}
