import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// Picks the symbols worth a look, stores their new closed candles and queues candidates.
    public static func scan(_ ctx: StepContext) async throws -> StepReport {
        let ex = try ctx.requireExchange()
        let now = ctx.nowMs
        let cfg = ctx.config.universe
        var universe = cfg.symbols
        var dropped: [String] = []
        if universe.isEmpty {
            let rules = try await ex.symbolRules(symbols: [])
            let tickers = try await ex.tickers24h()
            universe = tickers
                .filter { $0.symbol.hasSuffix("USDT") && rules[$0.symbol]?.status == "TRADING" && $0.quoteVolume >= cfg.minQuoteVolumeUSD }
                .sorted { $0.quoteVolume > $1.quoteVolume }
                .map(\.symbol)
            // A symbol goes into signed queries, client order ids and file names: only [A-Z0-9]+ does.
            dropped = universe.filter { !Symbol.isValid($0) }
            universe.removeAll { !Symbol.isValid($0) }
        }
        let cooldownMs = Int64(ctx.config.trading.symbolCooldownMinutes) * 60_000
        let blocks = try ctx.db.scanBlocks(cooldownAfterMs: now - cooldownMs)
        var skipped: [String] = []
        var picked: [String] = []
        for symbol in universe {
            if picked.count >= cfg.maxSymbols { break }
            if blocks.live.contains(symbol) { skipped.append("\(symbol) (open position)"); continue }
            if blocks.coolingDown.contains(symbol) { skipped.append("\(symbol) (cooldown)"); continue }
            picked.append(symbol)
        }
        var queued: [String] = []
        var refetch: [String] = []
        var stored = 0
        var pruneDue = false
        for symbol in picked {
            guard let lasts = try readingCandleCache(ctx, symbol: symbol, { try ctx.db.lastCandleOpenMs(symbol: symbol, intervals: Interval.allCases) }) else {
                refetch.append(symbol)
                continue
            }
            // The candle table is pruned once an hour: when this scan is the first of its hour for
            // a symbol (or the symbol has no 1m candle yet). The newest stored 1m candle closed in the
            // minute of the scan that stored it: its close, not its open, dates that scan (a scan in
            // minute :00 stores the :59 candle, and the next scan of the hour pruned again).
            pruneDue = pruneDue || lasts[.m1].map { ($0 + Interval.m1.ms) / 3_600_000 != now / 3_600_000 } ?? true
            var frames: [(interval: Interval, candles: [Candle])] = []
            for interval in Interval.allCases {
                // Only what the analyst needs: after a long skip (open position, outage) the gap is
                // not backfilled, so the newest candles are always the ones fetched.
                let start = max(lasts[interval].map { $0 + interval.ms } ?? .min, now - 150 * interval.ms)
                guard start + interval.ms <= now else { continue }
                let candles = try await ex.klines(symbol: symbol, interval: interval, startMs: start, limit: 500)
                    .filter { $0.closeTimeMs(interval) < now }  // the still-open candle is never stored
                frames.append((interval, candles))
                stored += candles.count
            }
            // Fetched first, then one transaction (candles and candidate): no write is held open
            // across a request. A stored candle that does not read rolls it back and the symbol's
            // candles are fetched again next scan.
            let added = try readingCandleCache(ctx, symbol: symbol) {
                try ctx.db.storeScan(symbol: symbol, frames: frames, atMs: now, m15Limit: 60) { m15 in
                    guard let lastClose = m15.last?.close, m15.count >= 30 else { return nil }
                    // Cheap feature: trend strength over volatility; the analyst decides the direction.
                    let closes = m15.map(\.close)
                    let fast = Indicators.ema(closes, period: 9).last ?? lastClose
                    let slow = Indicators.ema(closes, period: 21).last ?? lastClose
                    let atr = Indicators.atrFraction(m15) ?? 0.01
                    return (lastClose, abs(fast - slow) / slow / max(atr, 0.0001))
                }
            }
            guard let added else {
                refetch.append(symbol)
                continue
            }
            if added { queued.append(symbol) }
        }
        if pruneDue { try ctx.db.pruneCandles(olderThanMs: now - 3 * 86_400_000) }
        var message = "scan: \(queued.count) candidate\(queued.count == 1 ? "" : "s") (\(queued.joined(separator: ", "))), \(stored) new candles"
        if !skipped.isEmpty { message += "; skipped \(skipped.joined(separator: ", "))" }
        if !refetch.isEmpty { message += "; stored candles of \(refetch.joined(separator: ", ")) did not read: deleted, fetched again next scan" }
        if !dropped.isEmpty {
            message += "; dropped \(dropped.count) symbol\(dropped.count == 1 ? "" : "s") not made of A-Z and 0-9 (\(dropped.prefix(5).map { $0.debugDescription }.joined(separator: ", ")))"
        }
        return StepReport(outcome: queued.isEmpty ? "nothing_to_do" : "ok", message: message)
    }
}
