import Charts
import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// The daily and weekly P&L summary, printed and queued for Telegram.
    public static func report(_ ctx: StepContext) async throws -> StepReport {
        let text = try PnLReport.text(ctx.db, config: ctx.config, nowMs: ctx.nowMs)
        let day = TradingCalendar.dayString(ctx.nowMs)
        Alerts.send(ctx, kind: "report", key: "report-\(day)", text: text)
        let curve = try PnLReport.equityCurve(ctx.db, config: ctx.config, sinceMs: ctx.nowMs - 30 * TradingCalendar.dayMs)
        if curve.count >= 2 {
            let path = "\(ctx.paths.reportsDir)/equity-\(day).png"
            try FileManager.default.createDirectory(atPath: ctx.paths.reportsDir, withIntermediateDirectories: true)
            try Data(LineChart.render(curve, title: "gobot equity, last 30 days (USD)")).write(to: URL(fileURLWithPath: path), options: .atomic)
            Alerts.sendPhoto(ctx, key: "equity-\(day)", path: path, caption: "equity \(day)")
        }
        return StepReport(message: text)
    }
}

/// P&L figures computed from the ledger and the positions table.
public enum PnLReport {
    /// Equity after each ledger entry since `sinceMs` (starting from the equity at that time).
    public static func equityCurve(_ db: GobotDatabase, config: GobotConfig, sinceMs: Int64) throws -> [Double] {
        var equity = (config.trading.initialCapitalUSD + (try db.ledgerTotals(fromMs: 0, toMs: sinceMs)).net).doubleValue
        var out = [equity]
        for amount in try db.ledgerAmounts(fromMs: sinceMs) {
            equity += amount.doubleValue
            out.append(equity)
        }
        return out
    }

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
        lines.append(try AnalystUsage.read(db, nowMs: nowMs).text)
        lines += SignalScorecard.render(SignalScorecard.cards(try db.signalLabels()), breakEven: Steps.breakEvenHitRate(config))
        return lines.joined(separator: "\n")
    }
}
