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

    /// The analyst's direction calls against random directions at the same entries, both sides of
    /// every entry replayed on the stored 1m candles by the same rules (entry at the market with the
    /// configured slippage and fees, today's stop and target, stop first inside a minute, no funding
    /// on either side: the database holds no funding rates), beside the closed trades as booked
    /// (fees and funding, from the ledger), which must be positive too (docs/EVALUATION.md).
    /// scan prunes candles after 3 days and stores none while it skips a held symbol: an entry whose
    /// stored candles do not run without a gap from its entry to its exit is not replayed (replaying
    /// over missing days filled stops and targets at prices days later), and is counted; the item
    /// judges only the entries it could replay, and never passes on none.
    static func edgeItem(_ ctx: StepContext, closed: [PositionRow]) throws -> ValidationItem {
        let name = "edge distinguishable from random"
        guard let first = closed.map(\.openedAtMs).min() else { return ValidationItem(name: name, passed: false, detail: "no trades") }
        var series: [String: [Candle]] = [:], damaged: [String] = []
        for s in Set(closed.map(\.symbol)).sorted() {
            // A damaged stored candle leaves that symbol's entries unreplayed (validate changes nothing).
            do { series[s] = try ctx.db.candles1m(symbol: s, fromMs: first, toMs: ctx.nowMs) } catch let error as RowDecodingError { damaged.append("\(s) (\(error))") }
        }
        var entries: [EdgeEvaluation.Entry] = [], booked: [Double] = [], runs: [[Candle]] = []
        for p in closed {
            guard let closedAt = p.closedAtMs, let run = gaplessRun(series[p.symbol] ?? [], fromMs: p.openedAtMs),
                  let last = run.last, last.openTimeMs + 60_000 >= closedAt else { continue }
            entries.append(EdgeEvaluation.Entry(symbol: p.symbol, side: p.side, openedAtMs: p.openedAtMs, entryPrice: p.entryPrice, quantity: p.quantity))
            booked.append(p.netPnl.doubleValue)
            runs.append(run)
        }
        let refused = closed.count - entries.count
        let refusedText = refused == 0 ? "" : "; \(refused) of \(closed.count) closed trades could not be replayed and are not judged "
            + "(stored 1m candles pruned after 3 days or missing between entry and exit" + (damaged.isEmpty ? "" : "; damaged: " + damaged.joined(separator: ", ")) + ")"
        guard !entries.isEmpty else {
            return ValidationItem(name: name, passed: false, detail: "edge: NOT judged, no closed trade could be replayed" + refusedText)
        }
        let r = EdgeEvaluation.bookedAgainstRandom(entries: entries, booked: booked, candles: runs, config: ctx.config, seeds: 1000)
        let breakEven = breakEvenHitRate(ctx.config)
        // The judged trades are a selection (those whose candles were kept, mostly the last days):
        // the item never passes while all closed trades together lost money.
        let allNet = closed.reduce(Decimal(0)) { $0 + $1.netPnl }.doubleValue
        // The headline never reads "positive" while the whole record lost money: the rank of a
        // selection says nothing against that.
        let headline = allNet > 0 ? r.verdict
            : String(format: "edge: NOT demonstrated (all %d closed trades booked net %.2f USD after fees and funding; the %d judged below rank at %@, a selection)",
                     closed.count, allNet, entries.count, EdgeVerdict.pText(r.p))
        let judged = refused == 0 ? "booked net" : "the \(entries.count) judged trades booked net"
        let allText = refused == 0 || allNet <= 0 ? "" : String(format: "; all %d closed trades booked net %.2f USD after fees and funding", closed.count, allNet)
        let slippage = ctx.config.exchange.slippageBps.doubleValue, fee = ctx.config.exchange.takerFeeRate.doubleValue * 100
        return ValidationItem(name: name, passed: r.p < EdgeVerdict.alpha && r.bookedNetUSD > 0 && allNet > 0,
                              detail: "\(headline); \(judged) \(String(format: "%.2f", r.bookedNetUSD)) USD after fees and funding\(allText); "
                                + String(format: "ranked on replays of both sides: the judged trades' sides replayed %.2f USD, percentile %.1f among 1000 random sides "
                                         + "replayed the same way (median %.2f, 90 %% %.2f…%.2f USD; every side entered at the minute's open with %.1f bps slippage "
                                         + "and %.3f %% taker fee, today's stop and target, stop first within a minute, funding on neither side: "
                                         + "the database holds no funding rates); ",
                                         r.replayedNetUSD, r.percentile, r.baselineMedianUSD, r.baselineLowUSD, r.baselineHighUSD, slippage, fee)
                                + String(format: "break-even win rate %.1f %%", breakEven * 100) + refusedText)
    }

    /// The stored 1m candles from `fromMs` on as long as they run minute by minute (nil when the
    /// first does not open within a minute of it): what a trade can be replayed on.
    static func gaplessRun(_ candles: [Candle], fromMs: Int64) -> [Candle]? {
        var lo = 0, hi = candles.count
        while lo < hi { let mid = (lo + hi) / 2; if candles[mid].openTimeMs < fromMs { lo = mid + 1 } else { hi = mid } }
        var end = lo
        while end + 1 < candles.count, candles[end + 1].openTimeMs - candles[end].openTimeMs == 60_000 { end += 1 }
        let run = Array(candles[lo..<min(end + 1, candles.count)])
        return isGapless(run, fromMs: fromMs) ? run : nil
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
