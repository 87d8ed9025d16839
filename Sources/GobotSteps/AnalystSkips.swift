import Foundation
import GobotCore
import GobotStore

/// Pay the analyst only when its answer can matter: before asking about a candidate, the parts of
/// the gate that do not depend on the answer are checked, and a candidate that could not trade
/// whatever the answer is skipped and counted by reason (`analyst.ask_when_blocked` asks anyway,
/// for scorecard labels).
enum AnalystSkips {
    /// Why no answer about `symbol` could lead to an entry now, or nil when one could.
    static func reason(_ ctx: StepContext, symbol: String, lastClose: Double, rules: SymbolRules?) throws -> String? {
        // Only the limits that come from positions (read as the gate reads them): the ledger,
        // breakers and the halt flag are for trade to check before an entry.
        let c = ctx.config, state = try ctx.db.positionInputs(symbol: symbol, entriesFromMs: Steps.riskBoundaries(ctx).localDay)
        if state.live.count >= c.risk.maxOpenPositions { return "max_open_positions" }
        if state.entriesToday.count >= c.trading.maxTradesPerDay { return "max_trades_per_day" }
        if state.live.contains(where: { $0.symbol == symbol }) { return "open_position" }
        if let last = state.lastEntryOnSymbolMs, ctx.nowMs - last < Int64(c.trading.symbolCooldownMinutes) * 60_000 { return "cooldown" }
        if let r = rules, lastClose > 0 {
            // Even the capped size misses the minimum by more than a price move between now and the trade step.
            let step = r.marketStepSize.doubleValue
            let maxQty = step > 0 ? (c.trading.maxPositionUSD.doubleValue / lastClose / step).rounded(.down) * step : 0
            if maxQty * lastClose < r.minNotional.doubleValue * 0.98 || maxQty < r.marketMinQty.doubleValue {
                return "below_min_notional"
            }
        }
        return nil
    }
}

/// Analyst requests, cost and skipped requests of one UTC day (status and the daily report).
public struct AnalystUsage: Codable, Sendable, Equatable {
    public var day: String
    public var requests: Int
    public var costUSD: Double
    public var skipped: [String: Int]

    public static func read(_ db: GobotDatabase, nowMs: Int64) throws -> AnalystUsage {
        let day = TradingCalendar.dayString(nowMs)
        let usage = try db.analystUsage(fromMs: TradingCalendar.startOfDay(nowMs))
        return AnalystUsage(day: day, requests: usage.requests, costUSD: usage.costUSD, skipped: try db.analystSkips(day: day))
    }

    public var text: String {
        let skips = skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        return String(format: "analyst today: %d requests, %.4f USD; skipped (answer could not matter): ", requests, costUSD)
            + (skips.isEmpty ? "none" : skips.joined(separator: ", "))
    }
}
