import Foundation

/// Measures whether an analyst's direction calls beat random directions after fees and funding.
///
/// The analyst's trades come from the engine (its gate, limits and sizing). Each entry is then
/// replayed as a long and as a short with the same stop, target, fees and funding on the 1m
/// candles after it; the random baseline picks one of the two per entry per seed, so it keeps the
/// analyst's entry times, sizes and limits and differs only in the direction call. Pure: values in,
/// values out; every random draw comes from the seed passed in.
public enum EdgeEvaluation {
    public struct Entry: Sendable, Equatable {
        public var symbol: String
        public var side: PositionSide
        public var openedAtMs: Int64
        public var entryPrice: Decimal
        public var quantity: Decimal

        public init(symbol: String, side: PositionSide, openedAtMs: Int64, entryPrice: Decimal, quantity: Decimal) {
            self.symbol = symbol
            self.side = side
            self.openedAtMs = openedAtMs
            self.entryPrice = entryPrice
            self.quantity = quantity
        }

        public init(_ t: CoreBacktest.Trade) {
            self.init(symbol: t.symbol, side: t.side, openedAtMs: t.openedAtMs, entryPrice: t.entryPrice, quantity: t.quantity)
        }
    }

    /// One entry replayed with one side.
    public struct Outcome: Sendable, Equatable {
        public var net: Double
        public var realized: Decimal
        public var fees: Decimal
        public var funding: Decimal
        /// Net in units of the money at risk between entry and stop (R).
        public var r: Double
        /// Exit minute (trigger candle) or nil when still open at the end of the data (then marked at the last close).
        public var closedAtMs: Int64?
        public var exitReason: String
        public var exitPrice: Decimal
        /// The side's own entry (``entryPrice(_:side:candles:rule:config:ownFill:)``).
        public var entryPrice: Decimal = 0
        public var won: Bool { closedAtMs != nil && net > 0 }
    }

    public struct Options: Sendable {
        public var seeds: Int = 1000
        public var folds: Int = 4
        public var seed: UInt64 = 20_250_520
        public var bootstrapResamples: Int = 2000
        public var shuffles: Int = 1000
        public init(seeds: Int = 1000, folds: Int = 4, seed: UInt64 = 20_250_520) {
            self.seeds = seeds
            self.folds = folds
            self.seed = seed
        }
    }

    /// The figures for one slice (whole range, one fold or one symbol).
    public struct Group: Sendable {
        public var name: String
        public var fromMs: Int64
        public var toMs: Int64
        public var trades: Int
        public var closed: Int
        public var open: Int
        public var wins: Int
        public var winRateInterval: (low: Double, high: Double)
        public var netUSD: Double
        public var feesUSD: Double
        public var fundingUSD: Double
        public var expectancyR: Double
        public var expectancyRInterval: (low: Double, high: Double)
        /// Max drawdown of the equity curve marked to market every minute (open positions count).
        public var maxDrawdownUSD: Double
        /// 95th percentile of the max drawdown over shuffles of the trade order.
        public var shuffledDrawdown95USD: Double
        public var baselineMedianUSD: Double
        public var baselineLowUSD: Double
        public var baselineHighUSD: Double
        public var percentile: Double
        public var p: Double
        public var alwaysLongUSD: Double
        public var alwaysShortUSD: Double
        public var verdict: String { EdgeVerdict.line(p: p, trades: trades, netUSD: netUSD) }
    }

    public struct Report: Sendable {
        public var breakEvenWinRate: Double
        public var seeds: Int
        public var whole: Group
        public var folds: [Group]
        public var symbols: [Group]
        public var entries: [Entry]
        public var outcomes: [Outcome]
        /// Grid of times with the analyst's realized equity and the random baseline's 5/50/95 % band.
        public var band: [(ms: Int64, analyst: Double, low: Double, median: Double, high: Double)]
        public var initialCapitalUSD: Double
    }

    /// Replays one entry with `side` on the candles from its entry on: stops before targets within a
    /// candle, a gap through a trigger fills at the open, funding at every 8-hour mark while open —
    /// the engine's and the paper exchange's rules on last prices. With mark-price data the books
    /// trigger stops and charge funding on the mark, which this replay does not see: its figures
    /// (the analyst's replayed net, the random baseline) can then differ from the books slightly.
    /// `ownFill` false enters the analyst's own side at the market as well (``entryPrice(_:side:candles:rule:config:ownFill:)``).
    public static func replay(_ e: Entry, side: PositionSide, candles: [Candle], funding: [Int64: Double], rule: SymbolRules,
                              config: GobotConfig, ownFill: Bool = true) -> Outcome {
        let t = config.trading, feeRate = config.exchange.takerFeeRate
        let entryPrice = Self.entryPrice(e, side: side, candles: candles, rule: rule, config: config, ownFill: ownFill)
        let prices = ProtectivePrices.compute(side: side, entry: entryPrice, stopPercent: t.stopLossPercent,
                                              targetPercent: t.takeProfitPercent, tickSize: rule.tickSize)
        let sign: Decimal = side == .long ? 1 : -1
        var lo = 0, hi = candles.count
        while lo < hi { let mid = (lo + hi) / 2; if candles[mid].openTimeMs < e.openedAtMs { lo = mid + 1 } else { hi = mid } }
        var funded: Decimal = 0
        var exit: (price: Decimal, ms: Int64, reason: String)?
        var i = lo
        var due = FundingSchedule.firstMark(atOrAfter: e.openedAtMs)
        while i < candles.count {
            let c = candles[i]
            // Every mark up to this candle, as the engine and the paper exchange charge them: one
            // whose 1m candle is missing on the price at the mark (the close before the gap).
            while due <= c.openTimeMs {
                if let rate = funding[due] {
                    let price = due == c.openTimeMs ? c.open : CoreBacktest.price(candles, due)
                    funded += -(sign * e.quantity * CoreBacktest.decimal(price) * CoreBacktest.decimal(rate)).rounded(scale: 8)
                }
                due += FundingSchedule.intervalMs
            }
            // The same trigger and fill rules as the engine and the paper exchange (FillRules):
            // stop before target, gaps fill at the open, slippage against the trader.
            let exitSide = side.exitSide
            if let hit = FillRules.protectiveFill(isStop: true, side: exitSide, trigger: prices.stop, last: c, mark: nil, placedAtMs: e.openedAtMs) {
                exit = (FillRules.slipped(hit, side: exitSide, bps: config.exchange.slippageBps, tickSize: rule.tickSize), c.openTimeMs, "stop-loss")
                break
            }
            if let hit = FillRules.protectiveFill(isStop: false, side: exitSide, trigger: prices.target, last: c, mark: nil, placedAtMs: e.openedAtMs) {
                exit = (FillRules.slipped(hit, side: exitSide, bps: config.exchange.slippageBps, tickSize: rule.tickSize), c.openTimeMs, "take-profit")
                break
            }
            i += 1
        }
        let exitPrice = exit?.price ?? (candles.last.map { CoreBacktest.decimal($0.close) } ?? entryPrice)
        let realized = (exitPrice - entryPrice) * e.quantity * sign
        let fees = (entryPrice * e.quantity * feeRate).rounded(scale: 8) + (exitPrice * e.quantity * feeRate).rounded(scale: 8)
        let net = (realized - fees + funded).doubleValue
        let risk = abs((entryPrice - prices.stop).doubleValue) * e.quantity.doubleValue
        return Outcome(net: net, realized: realized, fees: fees, funding: funded, r: risk > 0 ? net / risk : 0,
                       closedAtMs: exit?.ms, exitReason: exit?.reason ?? "open (marked at the last close)", exitPrice: exitPrice, entryPrice: entryPrice)
    }

    /// The entry price of `e` held with `side`: the analyst's own fill for its own side; for the
    /// other side, the market price the order met (the open of the minute at or after the entry)
    /// slipped the other way by the same fill rules — a short sells below the market where the
    /// long bought above it, so the random side pays its own slippage instead of inheriting the
    /// analyst's. With `ownFill` false the analyst's side too enters at the market by those rules,
    /// so both sides of an entry are measured the same way (validate's like-for-like rank).
    public static func entryPrice(_ e: Entry, side: PositionSide, candles: [Candle], rule: SymbolRules, config: GobotConfig,
                                  ownFill: Bool = true) -> Decimal {
        guard side != e.side || !ownFill, !candles.isEmpty else { return e.entryPrice }
        let market = CoreBacktest.decimal(CoreBacktest.price(candles, e.openedAtMs))
        return FillRules.slipped(market, side: side.entrySide, bps: config.exchange.slippageBps, tickSize: rule.tickSize)
    }

    /// Unrealized P&L of `e` held with its own side at the close of each minute until its exit:
    /// (minute open time, P&L after the entry fee and funding so far).
    static func markedPath(_ e: Entry, outcome: Outcome, candles: [Candle], funding: [Int64: Double], feeRate: Decimal) -> [(ms: Int64, pnl: Double)] {
        var lo = 0, hi = candles.count
        while lo < hi { let mid = (lo + hi) / 2; if candles[mid].openTimeMs < e.openedAtMs { lo = mid + 1 } else { hi = mid } }
        let sign = e.side == .long ? 1.0 : -1.0, qty = e.quantity.doubleValue, entry = e.entryPrice.doubleValue
        let entryFee = (e.entryPrice * e.quantity * feeRate).doubleValue
        var path: [(Int64, Double)] = [], funded = 0.0
        var i = lo
        var due = FundingSchedule.firstMark(atOrAfter: e.openedAtMs)
        while i < candles.count {
            let c = candles[i]
            if let closed = outcome.closedAtMs, c.openTimeMs >= closed { break }
            while due <= c.openTimeMs {  // as ``replay``: a mark whose candle is missing too
                if let rate = funding[due] { funded -= sign * qty * (due == c.openTimeMs ? c.open : CoreBacktest.price(candles, due)) * rate }
                due += FundingSchedule.intervalMs
            }
            path.append((c.openTimeMs, (c.close - entry) * qty * sign - entryFee + funded))
            i += 1
        }
        path.append((outcome.closedAtMs ?? (candles.last?.openTimeMs ?? e.openedAtMs), outcome.net))
        return path
    }

    /// Without exchange rules (a symbol the engine never trades) the prices are simply not rounded to a tick.
    static func defaultRule(_ symbol: String) -> SymbolRules {
        SymbolRules(symbol: symbol, status: "TRADING", tickSize: Decimal(string: "0.00000001")!, stepSize: 1, minQty: 0,
                    marketStepSize: 1, marketMinQty: 0, marketMaxQty: 0, minNotional: 0)
    }

    // swiftlint:disable:next function_body_length
    public static func evaluate(entries: [Entry], config: GobotConfig, series: [String: [Candle]], funding: [String: [Int64: Double]],
                                rules: [String: SymbolRules], rangeMs: (from: Int64, to: Int64), options: Options = Options()) -> Report {
        let n = entries.count
        // The replay sees the candles the books saw: none after the range (a symbol whose file
        // runs on past another's, the minutes after the engine's last cycle), where an exit the
        // run never had would turn a position left open into a closed trade.
        let series = series.mapValues { c -> [Candle] in
            guard let last = c.last, last.openTimeMs + 60_000 > rangeMs.to else { return c }
            var lo = 0, hi = c.count
            while lo < hi { let mid = (lo + hi) / 2; if c[mid].openTimeMs + 60_000 <= rangeMs.to { lo = mid + 1 } else { hi = mid } }
            return Array(c[..<lo])
        }
        // Both sides of every entry, in parallel (the costly part on long ranges).
        let pairs = ParallelMap.map(n) { k -> (long: Outcome, short: Outcome) in
            let e = entries[k]
            let c = series[e.symbol] ?? [], f = funding[e.symbol] ?? [:]
            let rule = rules[e.symbol] ?? defaultRule(e.symbol)
            return (replay(e, side: .long, candles: c, funding: f, rule: rule, config: config),
                    replay(e, side: .short, candles: c, funding: f, rule: rule, config: config))
        }
        let own = zip(entries, pairs).map { $0.side == .long ? $1.long : $1.short }
        let longNet = pairs.map(\.long.net), shortNet = pairs.map(\.short.net)

        // Random sides: one bit per entry per seed, each seed its own stream (independent of thread count).
        let seeds = max(1, options.seeds)
        let words = (n + 63) / 64
        let sideBits = ParallelMap.map(seeds) { s -> [UInt64] in
            var rng = SeededRandom.stream(options.seed, s)
            return (0..<words).map { _ in rng.next() }
        }.flatMap { $0 }
        @Sendable func isLong(_ s: Int, _ k: Int) -> Bool { sideBits[s * words + k / 64] >> UInt64(k % 64) & 1 == 1 }

        // Minute-marked equity deltas for the analyst's own trades.
        let feeRate = config.exchange.takerFeeRate
        let markedPaths = ParallelMap.map(n) { k in
            markedPath(entries[k], outcome: own[k], candles: series[entries[k].symbol] ?? [], funding: funding[entries[k].symbol] ?? [:], feeRate: feeRate)
        }
        let capital = config.trading.initialCapitalUSD.doubleValue

        @Sendable func group(_ name: String, _ members: [Int], from: Int64, to: Int64, salt: Int) -> Group {
            let ownNet = members.map { own[$0].net }
            let closed = members.filter { own[$0].closedAtMs != nil }
            let wins = closed.filter { own[$0].won }.count
            let net = ownNet.reduce(0, +)
            var baseline = [Double](repeating: 0, count: seeds)
            for s in 0..<seeds {
                var sum = 0.0
                for k in members { sum += isLong(s, k) ? longNet[k] : shortNet[k] }
                baseline[s] = sum
            }
            let ranked = EdgeStatistics.rank(observed: net, among: baseline)
            baseline.sort()
            var rng = SeededRandom.stream(options.seed &+ 1, salt)
            let rs = members.map { own[$0].r }
            let interval = EdgeStatistics.bootstrapMean(rs, resamples: options.bootstrapResamples, using: &rng)
            let shuffled = EdgeStatistics.monteCarloDrawdown(ownNet, shuffles: options.shuffles, using: &rng)
            // Marked-to-market curve: merge the members' minute paths.
            var events: [(ms: Int64, delta: Double)] = []
            for k in members {
                var previous = 0.0
                for point in markedPaths[k] { events.append((point.ms, point.pnl - previous)); previous = point.pnl }
            }
            events.sort { $0.ms < $1.ms }
            var equity = [capital], running = capital, i = 0
            while i < events.count {
                let ms = events[i].ms
                while i < events.count && events[i].ms == ms { running += events[i].delta; i += 1 }
                equity.append(running)
            }
            let wilson = Statistics.wilson(successes: wins, trials: closed.count)
            return Group(name: name, fromMs: from, toMs: to, trades: members.count, closed: closed.count, open: members.count - closed.count, wins: wins,
                         winRateInterval: wilson, netUSD: net,
                         feesUSD: members.reduce(0) { $0 + own[$1].fees.doubleValue }, fundingUSD: members.reduce(0) { $0 + own[$1].funding.doubleValue },
                         expectancyR: rs.isEmpty ? 0 : rs.reduce(0, +) / Double(rs.count), expectancyRInterval: interval,
                         maxDrawdownUSD: Statistics.maxDrawdown(equity), shuffledDrawdown95USD: shuffled,
                         baselineMedianUSD: EdgeStatistics.quantile(sorted: baseline, 0.5), baselineLowUSD: EdgeStatistics.quantile(sorted: baseline, 0.05),
                         baselineHighUSD: EdgeStatistics.quantile(sorted: baseline, 0.95), percentile: ranked.percentile, p: ranked.p,
                         alwaysLongUSD: members.reduce(0) { $0 + longNet[$1] }, alwaysShortUSD: members.reduce(0) { $0 + shortNet[$1] })
        }

        // Whole range, folds and symbols, in parallel.
        let foldCount = max(1, options.folds)
        let span = max(1, rangeMs.to - rangeMs.from)
        var specs: [(name: String, members: [Int], from: Int64, to: Int64)] = [("all", Array(0..<n), rangeMs.from, rangeMs.to)]
        for f in 0..<foldCount {
            let a = rangeMs.from + span * Int64(f) / Int64(foldCount), b = rangeMs.from + span * Int64(f + 1) / Int64(foldCount)
            specs.append(("fold \(f + 1)", (0..<n).filter { entries[$0].openedAtMs >= a && (entries[$0].openedAtMs < b || f == foldCount - 1) }, a, b))
        }
        for s in Set(series.keys).sorted() {
            specs.append((s, (0..<n).filter { entries[$0].symbol == s }, rangeMs.from, rangeMs.to))
        }
        let groupSpecs = specs
        let all = ParallelMap.map(groupSpecs.count) { g in
            group(groupSpecs[g].name, groupSpecs[g].members, from: groupSpecs[g].from, to: groupSpecs[g].to, salt: g)
        }

        // Realized equity on a grid, the analyst's against the random baseline's 5/50/95 % band.
        let points = 200
        func slot(_ ms: Int64) -> Int { min(points - 1, max(0, Int(Double(ms - rangeMs.from) / Double(span) * Double(points - 1)))) }
        let exitSlot = (0..<n).map { k -> (long: Int, short: Int, own: Int) in
            let end = rangeMs.to
            return (slot(pairs[k].long.closedAtMs ?? end), slot(pairs[k].short.closedAtMs ?? end), slot(own[k].closedAtMs ?? end))
        }
        let curves = ParallelMap.map(seeds) { s -> [Double] in
            var curve = [Double](repeating: 0, count: points)
            for k in 0..<n {
                if isLong(s, k) { curve[exitSlot[k].long] += longNet[k] } else { curve[exitSlot[k].short] += shortNet[k] }
            }
            var running = capital
            for g in 0..<points { running += curve[g]; curve[g] = running }
            return curve
        }
        var ownCurve = [Double](repeating: 0, count: points)
        for k in 0..<n { ownCurve[exitSlot[k].own] += own[k].net }
        var band: [(Int64, Double, Double, Double, Double)] = []
        var running = capital, column = [Double](repeating: 0, count: seeds)
        for g in 0..<points {
            running += ownCurve[g]
            for s in 0..<seeds { column[s] = curves[s][g] }
            column.sort()
            band.append((rangeMs.from + span * Int64(g) / Int64(points - 1), running, EdgeStatistics.quantile(sorted: column, 0.05),
                         EdgeStatistics.quantile(sorted: column, 0.5), EdgeStatistics.quantile(sorted: column, 0.95)))
        }
        return Report(breakEvenWinRate: EdgeStatistics.breakEvenWinRate(stopPercent: config.trading.stopLossPercent.doubleValue,
                                                                        targetPercent: config.trading.takeProfitPercent.doubleValue,
                                                                        feeRate: config.exchange.takerFeeRate.doubleValue),
                      seeds: seeds, whole: all[0], folds: Array(all[1...foldCount]), symbols: Array(all[(foldCount + 1)...]),
                      entries: entries, outcomes: own, band: band, initialCapitalUSD: capital)
    }
}
