import Analysts
import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// Asks the analyst about each fresh candidate and stores the answer as a signal.
    public static func analyze(_ ctx: StepContext) async throws -> StepReport {
        let now = ctx.nowMs
        let candidates = try ctx.db.freshCandidates(nowMs: now, maxAgeMs: Int64(ctx.config.universe.candidateMaxAgeMinutes) * 60_000)
        guard !candidates.isEmpty else { return StepReport(outcome: "nothing_to_do", message: "analyze: no fresh candidates") }
        var lines: [String] = []
        let rules = ctx.config.analyst.askWhenBlocked ? [:] : ((try? await ctx.exchange?.symbolRules(symbols: candidates.map(\.symbol))) ?? [:])
        for (index, c) in candidates.enumerated() {
            if !ctx.config.analyst.askWhenBlocked, let why = try AnalystSkips.reason(ctx, symbol: c.symbol, lastClose: c.lastClose, rules: rules[c.symbol]) {
                try ctx.db.recordAnalystSkip(candidateId: c.id, day: TradingCalendar.dayString(now), reason: why, atMs: now)
                lines.append("\(c.symbol) skipped (\(why))")
                continue
            }
            let drawn = ctx.analyst.needsCharts || ctx.saveCharts
            let limits = drawn ? Array(repeating: ChartSet.chartCandles, count: 3) : ctx.analyst.candlesPerFrame
            guard let frames = try readingCandleCache(ctx, symbol: c.symbol, {
                try ctx.db.candles(symbol: c.symbol, intervals: [.m1, .m5, .m15], closedByMs: now, limits: limits)
            }) else {
                // Counted as skipped, so a later analyze does not take it up on no candles.
                try ctx.db.recordAnalystSkip(candidateId: c.id, day: TradingCalendar.dayString(now), reason: "candles_damaged", atMs: now)
                lines.append("\(c.symbol) skipped (stored candles did not read: deleted, fetched again next scan)")
                continue
            }
            let set = ChartSet(symbol: c.symbol, m1: frames[0], m5: frames[1], m15: frames[2])
            let pngs = ctx.analyst.needsCharts || ctx.saveCharts ? try ChartOutput.render(set, ctx: ctx) : []
            let signal: Signal
            do {
                signal = try await ctx.analyst.analyze(set, pngs: pngs, nowMs: now)
            } catch let error as VisionError {
                if case .budgetExhausted = error {
                    Alerts.send(ctx, kind: "risk", key: "analyst-budget-\(TradingCalendar.dayString(now))", text: "💸 \(error); no more analysis today")
                    // This candidate and the rest are counted, not silently dropped.
                    for rest in candidates[index...] {
                        try ctx.db.recordAnalystSkip(candidateId: rest.id, day: TradingCalendar.dayString(now), reason: "budget_exhausted", atMs: now)
                    }
                    lines.append("stopped: \(error); \(candidates.count - index) candidate(s) skipped")
                    break
                }
                throw error
            }
            let hashes = pngs.map(ChartOutput.hash)
            let reference = set.m1.last?.close ?? c.lastClose
            // An answer with no direction has nothing for the gate to decide: it is stored with
            // trade's own rejection, and trade (a read and a write every cron run) never sees it.
            try ctx.db.storeSignal(candidateId: c.id, symbol: c.symbol, atMs: now, signal: signal, referencePrice: reference, chartHashes: hashes,
                                   noDirectionDecision: Steps.noDirectionDecision)
            lines.append("\(c.symbol) \(signal.direction.rawValue) \(String(format: "%.2f", signal.confidence))")
        }
        return StepReport(message: "analyze: \(lines.joined(separator: ", "))")
    }
}
