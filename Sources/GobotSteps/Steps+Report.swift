import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// The daily and weekly P&L summary, printed and queued for Telegram.
    public static func report(_ ctx: StepContext) async throws -> StepReport {
        let text = try PnLReport.text(ctx.db, config: ctx.config, nowMs: ctx.nowMs)
        Alerts.send(ctx, kind: "report", key: "report-\(TradingCalendar.dayString(ctx.nowMs))", text: text)
        return StepReport(message: text)
    }
}

/// P&L figures computed from the ledger and the positions table.
public enum PnLReport {
    public static func text(_ db: GobotDatabase, config: GobotConfig, nowMs: Int64) throws -> String {
        let day = TradingCalendar.startOfDay(nowMs), week = TradingCalendar.startOfWeek(nowMs)
        let today = try db.ledgerTotals(fromMs: day), thisWeek = try db.ledgerTotals(fromMs: week), all = try db.ledgerTotals(fromMs: 0)
        let positions = try db.positions()
        let closedToday = positions.filter { $0.status == "closed" && ($0.closedAtMs ?? 0) >= day }
        let history = try db.tradeHistory()
        let wilson = Statistics.wilson(successes: history.wins, trials: history.closed)
        let live = positions.filter { $0.status == "open" || $0.status == "opening" }
        func usd(_ d: Decimal) -> String { "\(d >= 0 ? "+" : "")\(d.rounded(scale: 2)) USD" }
        var lines = [
            "gobot report \(TradingCalendar.dayString(nowMs)) (UTC)",
            "today: \(usd(today.net)) (P&L \(usd(today.realized)), fees \(usd(today.commission)), funding \(usd(today.funding))), \(closedToday.count) closed",
            "week:  \(usd(thisWeek.net))",
            "equity: \((config.trading.initialCapitalUSD + all.net).rounded(scale: 2)) USD (start \(config.trading.initialCapitalUSD))",
            "trades: \(history.closed) closed, \(history.wins) won"
                + (history.closed > 0 ? String(format: ", win rate %.0f%% (95%% CI %.0f–%.0f%%)", Double(history.wins) / Double(history.closed) * 100,
                                               wilson.low * 100, wilson.high * 100) : ""),
            "open positions: \(live.count)",
        ]
        for p in live { lines.append("  \(p.side.rawValue) \(p.symbol) qty \(p.quantity.plainString) @ \(p.entryPrice.plainString), stop \(p.stopPrice.plainString), target \(p.targetPrice.plainString)") }
        return lines.joined(separator: "\n")
    }
}
