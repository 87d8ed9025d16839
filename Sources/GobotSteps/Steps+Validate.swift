import Foundation
import GobotCore
import GobotStore

/// The testnet acceptance checklist, computed from the database alone.
public struct ValidationItem: Sendable, Equatable {
    public var name: String
    public var passed: Bool
    public var detail: String
}

extension Steps {
    public static func validationItems(_ ctx: StepContext) throws -> [ValidationItem] {
        let closed = try ctx.db.positions().filter { $0.status == "closed" }
        let first = closed.map(\.openedAtMs).min(), last = closed.compactMap(\.closedAtMs).max()
        let days = first.flatMap { f in last.map { Double($0 - f) / Double(TradingCalendar.dayMs) } } ?? 0
        let wins = closed.filter { $0.netPnl > 0 }.count
        let w = Statistics.wilson(successes: wins, trials: closed.count)
        let outbox = try ctx.db.outboxCounts()
        let total = outbox.values.reduce(0, +)
        let undelivered = total - outbox["sent", default: 0]
        let runs = try ctx.db.read { db in
            try String.fetchAll(db, sql: "SELECT message FROM runs WHERE outcome = 'halted' AND message LIKE '%kill switch file%'")
        }
        let recoveries = try ctx.db.auditEntries().filter { $0.action == "recovery" }.count
        let edge = try edgeItem(ctx, closed: closed)
        let audit = try ctx.db.verifyAudit()
        let auditOK: Bool = if case .valid = audit { true } else { false }
        return [
            ValidationItem(name: "at least 100 closed trades", passed: closed.count >= 100, detail: "\(closed.count) closed"),
            ValidationItem(name: "over at least 7 days", passed: days >= 7, detail: String(format: "%.1f days from first entry to last exit", days)),
            ValidationItem(name: "win rate with 95% Wilson interval", passed: !closed.isEmpty,
                           detail: closed.isEmpty ? "no trades" : String(format: "%d/%d = %.1f%% (%.1f–%.1f%%)", wins, closed.count,
                                                                         Double(wins) / Double(closed.count) * 100, w.low * 100, w.high * 100)),
            edge,
            ValidationItem(name: "every alert delivered", passed: total > 0 && undelivered == 0,
                           detail: "\(total - undelivered) of \(total) Telegram messages sent"),
            ValidationItem(name: "kill switch exercised", passed: !runs.isEmpty, detail: "\(runs.count) step run(s) stopped by the kill-switch file"),
            ValidationItem(name: "a recovery exercised", passed: recoveries > 0, detail: "\(recoveries) order(s) of unknown outcome resolved by reconcile"),
            ValidationItem(name: "audit chain valid", passed: auditOK, detail: audit.description),
        ]
    }

    /// The closed trades against random directions at the same entries, replayed on the stored 1m
    /// candles with the same stop, target and fees (docs/EVALUATION.md).
    static func edgeItem(_ ctx: StepContext, closed: [PositionRow]) throws -> ValidationItem {
        let name = "edge distinguishable from random"
        guard let first = closed.map(\.openedAtMs).min() else { return ValidationItem(name: name, passed: false, detail: "no trades") }
        var series: [String: [Candle]] = [:]
        for s in Set(closed.map(\.symbol)) { series[s] = try ctx.db.candles1m(symbol: s, fromMs: first, toMs: ctx.nowMs) }
        let entries = closed.map { EdgeEvaluation.Entry(symbol: $0.symbol, side: $0.side, openedAtMs: $0.openedAtMs, entryPrice: $0.entryPrice, quantity: $0.quantity) }
        let r = EdgeEvaluation.evaluate(entries: entries, config: ctx.config, series: series, funding: [:], rules: [:], rangeMs: (first, ctx.nowMs),
                                        options: EdgeEvaluation.Options(seeds: 1000, folds: 1))
        let g = r.whole
        return ValidationItem(name: name, passed: g.p < EdgeVerdict.alpha && g.netUSD > 0,
                              detail: "\(g.verdict); percentile \(String(format: "%.1f", g.percentile)) among 1000 random-side replays with the same fees "
                                + String(format: "(funding not replayed); break-even win rate %.1f %%", r.breakEvenWinRate * 100))
    }

    public static func validate(_ ctx: StepContext) throws -> StepReport {
        let items = try validationItems(ctx)
        let lines = items.map { "\($0.passed ? "PASS" : "FAIL")  \($0.name): \($0.detail)" }
        let failed = items.filter { !$0.passed }.count
        return StepReport(outcome: failed == 0 ? "ok" : "failed",
                          message: (lines + ["\(items.count - failed) passed, \(failed) failed"]).joined(separator: "\n"),
                          exit: failed == 0 ? .ok : .failed)
    }
}
