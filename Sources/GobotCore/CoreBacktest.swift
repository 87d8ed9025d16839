import Foundation

/// The backtest pipeline held entirely in memory: the same analyst, gate, sizing and protective
/// prices as the cron steps, and the same fill, trigger, fee, funding and booking rules as the
/// paper exchange and reconcile, without SQLite in the loop.
///
/// It exists for speed (parameter sweeps, the year-long benchmark). A test runs it beside the
/// step pipeline on real candles and requires the same trades, so the two cannot drift apart.
public struct CoreBacktest {
    public struct Trade: Sendable, Equatable {
        public var symbol: String
        public var side: PositionSide
        public var quantity: Decimal
        public var entryPrice: Decimal
        public var exitPrice: Decimal?
        public var exitReason: String
        public var openedAtMs: Int64
        public var closedAtMs: Int64?
        public var realizedPnl: Decimal
        public var fees: Decimal
        public var funding: Decimal
        public var net: Decimal { realizedPnl - fees + funding }
    }

    public struct Result: Sendable {
        public var trades: [Trade]
        public var ledgerNet: Decimal
        public var ledgerFees: Decimal
        public var ledgerFunding: Decimal
        public var equity: [Double]
        public var candles: Int
        public var cycles: Int
        /// Gate rejections of actionable signals, by reason code.
        public var rejections: [String: Int] = [:]
        /// Which price stops and targets triggered on.
        public var triggerSource: TriggerPriceSource = .lastPrice
        /// Equity per cycle with open positions marked to market (the drawdown that counts).
        public var markedEquity: [Double] = []
        /// Simulated time of each cycle (the `equity` points).
        public var cycleTimesMs: [Int64] = []
        /// The last traded price per symbol at the end of the run, for marking open positions.
        public var lastPrices: [String: Double] = [:]
        /// Calls of the real risk gate, and rejections proven without it (``CoreBacktest/gateShortcuts``).
        public var gateCalls = 0
        public var gateShortcutAnswers = 0

        public init(trades: [Trade], ledgerNet: Decimal, ledgerFees: Decimal, ledgerFunding: Decimal, equity: [Double], candles: Int, cycles: Int) {
            self.trades = trades
            self.ledgerNet = ledgerNet
            self.ledgerFees = ledgerFees
            self.ledgerFunding = ledgerFunding
            self.equity = equity
            self.candles = candles
            self.cycles = cycles
        }
    }

    // Exchange-side books (what the paper exchange would hold).
    // Symbols are indices into `symbols` in the loop (no String hashing per candle).
    enum AlgoStatus { case new, finished, expired, canceled }
    struct Algo {
        var symbol: Int; var side: OrderSide; var isStop: Bool; var trigger: Decimal; var status: AlgoStatus; var positionIndex: Int; var placedAtMs: Int64
        /// `trigger.doubleValue`, converted once: triggers are checked every minute of a position.
        var triggerValue: Double
    }
    struct ExchangeFill { var symbol: Int; var side: OrderSide; var price: Decimal; var qty: Decimal; var realized: Decimal; var commission: Decimal; var timeMs: Int64 }
    struct Income { var symbol: Int; var kind: Int; var amount: Decimal; var timeMs: Int64 }  // kind 0 realized, 1 commission, 2 funding

    let config: GobotConfig
    let symbols: [String]
    let m1: [String: [Candle]]
    /// The 5m and 15m bars and their closes, built in one pass over each 1m series.
    let frames: [String: CandleResampler.Frames]
    let funding: [String: [Int64: Double]]
    let rules: [String: SymbolRules]
    /// 1m mark-price candles by symbol: stops and targets trigger on them where present.
    let marks: [String: [Candle]]
    /// Gate rejections the engine can prove without `RiskGate.evaluate`'s Decimal work are counted
    /// without calling it (see `GateShortcut`). Off only in the tests that show it changes nothing.
    public var gateShortcuts = true

    public init(config: GobotConfig, series: [String: [Candle]], funding: [String: [Int64: Double]], rules: [String: SymbolRules],
                markSeries: [String: [Candle]] = [:]) {
        self.config = config
        symbols = series.keys.sorted()
        m1 = series
        frames = series.mapValues { CandleResampler.frames($0) }
        self.funding = funding
        self.rules = rules
        marks = markSeries.filter { series[$0.key] != nil && !$0.value.isEmpty }
    }

    static func decimal(_ x: Double) -> Decimal { Decimal(price: x) ?? 0 }

    /// The exchange side of a run (what the paper exchange would hold): positions, protective
    /// orders, fills and income, with the fill and settlement rules. A struct with mutating methods
    /// rather than local functions of `run`: variables captured by those were boxed, and every
    /// access to them, the loop's included, was checked for exclusivity at run time.
    struct Books {
        let symbols: [String]
        let m1s: [[Candle]]
        let markSeries: [[Candle]]
        let fundingRates: [[Int64: Double]?]
        let tickSizes: [Decimal]
        let feeRate: Decimal, slippageBps: Decimal
        /// Per symbol: the 1m open times never decrease (prices are then found by a forward scan).
        let ascending: [Bool]
        var amt: [Decimal], entry: [Decimal]
        /// Their Double values for marking to market, converted once per fill instead of once per cycle.
        var amtValue: [Double], entryValue: [Double]
        /// `amt[s] != 0`, kept with it: the loop asks every cycle, and a Decimal comparison is a call.
        var hasPosition: [Bool]
        var algos: [Algo] = []
        var fills: [ExchangeFill] = []
        var incomes: [Income] = []
        var processedUntil: Int64
        var settleCursor: [Int], markCursor: [Int], priceCursor: [Int]

        init(symbols: [String], m1s: [[Candle]], markSeries: [[Candle]], fundingRates: [[Int64: Double]?], tickSizes: [Decimal],
             feeRate: Decimal, slippageBps: Decimal, ascending: [Bool], processedUntil: Int64) {
            self.symbols = symbols
            self.m1s = m1s
            self.markSeries = markSeries
            self.fundingRates = fundingRates
            self.tickSizes = tickSizes
            self.feeRate = feeRate
            self.slippageBps = slippageBps
            self.ascending = ascending
            self.processedUntil = processedUntil
            amt = [Decimal](repeating: 0, count: symbols.count)
            entry = amt
            amtValue = [Double](repeating: 0, count: symbols.count)
            entryValue = amtValue
            hasPosition = [Bool](repeating: false, count: symbols.count)
            settleCursor = [Int](repeating: 0, count: symbols.count)
            markCursor = settleCursor
            priceCursor = settleCursor
        }

        mutating func fill(_ symbol: Int, _ side: OrderSide, _ qty: Decimal, _ price: Decimal, _ atMs: Int64) {
            let a = amt[symbol]
            let signed = side == .buy ? qty : -qty
            var realized: Decimal = 0
            if a != 0 && (a > 0) != (signed > 0) {
                let closing = min(abs(a), qty)
                realized = (price - entry[symbol]) * closing * (a > 0 ? 1 : -1)
                let n = a + signed
                amt[symbol] = n
                if n == 0 { entry[symbol] = 0 } else if (n > 0) == (signed > 0) { entry[symbol] = price }
            } else {
                let n = a + signed
                entry[symbol] = n == 0 ? 0 : (entry[symbol] * abs(a) + price * qty) / abs(n)
                amt[symbol] = n
            }
            amtValue[symbol] = amt[symbol].doubleValue
            entryValue[symbol] = entry[symbol].doubleValue
            hasPosition[symbol] = amt[symbol] != 0
            let commission = (price * qty * feeRate).rounded(scale: 8)
            fills.append(ExchangeFill(symbol: symbol, side: side, price: price, qty: qty, realized: realized, commission: commission, timeMs: atMs))
            if realized != 0 { incomes.append(Income(symbol: symbol, kind: 0, amount: realized, timeMs: atMs)) }
            incomes.append(Income(symbol: symbol, kind: 1, amount: -commission, timeMs: atMs))
        }

        /// Protective triggers and funding for every closed minute before `now` since the last call.
        mutating func settle(now: Int64) {
            let until = now / 60_000 * 60_000
            guard until > processedUntil else { return }
            // Nothing to settle without a position or a live order (most cycles of a run).
            if algos.isEmpty && !hasPosition.contains(true) {
                processedUntil = until
                return
            }
            for s in symbols.indices where hasPosition[s] || algos.contains(where: { $0.symbol == s && $0.status == .new }) {
                let series = m1s[s]
                var i = settleCursor[s]
                while i > 0 && series[i - 1].openTimeMs >= processedUntil { i -= 1 }
                let ms = markSeries[s]
                var j = markCursor[s]
                while j > 0 && ms[j - 1].openTimeMs >= processedUntil { j -= 1 }
                while i < series.count && series[i].openTimeMs < processedUntil { i += 1 }
                // The marks of [processedUntil, until) in order, each charged before the first
                // candle at or after it, as the paper exchange does: one whose 1m candle is
                // missing on the mark price at the mark.
                var due = FundingSchedule.firstMark(atOrAfter: processedUntil)
                while i < series.count && series[i].openTimeMs + 60_000 <= until {
                    let c = series[i]
                    while j < ms.count && ms[j].openTimeMs < c.openTimeMs { j += 1 }
                    let mark = j < ms.count && ms[j].openTimeMs == c.openTimeMs ? ms[j] : nil
                    while due < until && due <= c.openTimeMs {
                        chargeFunding(s, at: due, open: due == c.openTimeMs ? (mark ?? c).open : markPriceAt(s, due))
                        due += FundingSchedule.intervalMs
                    }
                    // Stops before take-profits, then by placement order: two passes over the few
                    // live algos instead of a sorted copy per minute.
                    var filled = false
                    for pass in 0..<2 where !filled {
                        for k in algos.indices where algos[k].symbol == s && algos[k].status == .new && algos[k].isStop == (pass == 0) {
                            let a = algos[k]
                            guard let reached = FillRules.protectiveFill(isStop: a.isStop, side: a.side, trigger: a.trigger, triggerValue: a.triggerValue,
                                                                         last: c, mark: mark, placedAtMs: a.placedAtMs) else { continue }
                            let p = amt[s]
                            guard (a.side == .sell && p > 0) || (a.side == .buy && p < 0) else { algos[k].status = .expired; continue }
                            fill(s, a.side, abs(p), FillRules.slipped(reached, side: a.side, bps: slippageBps, tickSize: tickSizes[s]), c.openTimeMs + 30_000)
                            algos[k].status = .finished
                            filled = true
                            break
                        }
                    }
                    i += 1
                }
                while due < until {
                    chargeFunding(s, at: due, open: markPriceAt(s, due))
                    due += FundingSchedule.intervalMs
                }
                markCursor[s] = j
                settleCursor[s] = i
            }
            processedUntil = until
        }

        /// The funding of symbol `s` at mark `t`, when it has a rate and a position, on `open`.
        mutating func chargeFunding(_ s: Int, at t: Int64, open: Double) {
            guard let rate = fundingRates[s]?[t], amt[s] != 0 else { return }
            let amount = -(amt[s] * CoreBacktest.decimal(open) * CoreBacktest.decimal(rate)).rounded(scale: 8)
            incomes.append(Income(symbol: s, kind: 2, amount: amount, timeMs: t))
        }

        /// ``markPrice(_:_:)`` at a time that may lie before the last asked (a mark whose candle
        /// is missing), by bisection, without moving the cursors: the paper exchange's
        /// `markPrice(symbol:atMs:)` of the replay markets.
        func markPriceAt(_ s: Int, _ t: Int64) -> Double {
            let m = markSeries[s]
            if let first = m.first, let last = m.last, first.openTimeMs <= t, t < last.openTimeMs + 60_000 { return CoreBacktest.price(m, t) }
            return CoreBacktest.price(m1s[s], t)
        }

        /// ``CoreBacktest/price(_:_:)`` of symbol `s` at `now`, which never decreases during a run:
        /// on ascending open times the first candle at or after `now` is found by scanning on from
        /// the last one found (the same candle bisection finds) instead of bisecting a year.
        mutating func price(_ s: Int, _ now: Int64) -> Double {
            let c = m1s[s]
            guard ascending[s] else { return CoreBacktest.price(c, now) }
            var i = priceCursor[s]
            while i < c.count && c[i].openTimeMs < now { i += 1 }
            priceCursor[s] = i
            if i < c.count, c[i].openTimeMs - now < 60_000 { return c[i].open }
            return c[max(0, min(i, c.count) - 1)].close
        }

        /// What the paper exchange reports as the mark price: the mark series where it covers `now`.
        mutating func markPrice(_ s: Int, _ now: Int64) -> Double {
            let m = markSeries[s]
            guard let first = m.first, let last = m.last, first.openTimeMs <= now, now < last.openTimeMs + 60_000 else { return price(s, now) }
            return CoreBacktest.price(m, now)
        }
    }

    /// One symbol's analysis state during a run: cursors into its 1m, 5m and 15m series, the 15m
    /// figures at their last close count, and the windowed indicator figures, eight consecutive
    /// windows at a time (see IndicatorLanes).
    struct Analysis {
        var cursor1 = 0, cursor5 = 0, cursor15 = 0
        /// The 15m bar count the figures are for; the score is NaN until asked for at that count.
        var frame15 = (closed: -1, score: Double.nan, trend: 0.0)
        var score15 = IndicatorLanes.Block(.emaPair(window: 60, fast: 9, slow: 21), stride: 1)
        var trend15 = IndicatorLanes.Block(.emaPair(window: 120, fast: 9, slow: 21), stride: 1)
        var trend5: IndicatorLanes.Block
        var m1Figures: IndicatorLanes.Block

        init(cycleMinutes: Int) {
            trend5 = IndicatorLanes.Block(.emaPair(window: 120, fast: 9, slow: 21), stride: max(1, cycleMinutes / 5))
            m1Figures = IndicatorLanes.Block(.emaRSI(window: 60, emaPeriod: 9), stride: cycleMinutes)
        }
    }

    /// An actionable answer of the analysis, in the order analyze stores them.
    struct Candidate {
        var symbol: String
        var si: Int
        var score: Double
        var signal: Signal
    }

    /// Gate rejections by code: a handful of short codes, found by comparison instead of hashing a
    /// string for every rejection.
    struct Tally {
        var codes: [String] = [], numbers: [Int] = []
        mutating func add(_ code: String) {
            if let i = codes.firstIndex(of: code) { numbers[i] += 1 } else { codes.append(code); numbers.append(1) }
        }
        var counts: [String: Int] { Dictionary(uniqueKeysWithValues: zip(codes, numbers)) }
    }

    /// Today's and this week's realized P&L, summed again only when the ledger or the day changes.
    struct PnLSums {
        var entries = -1, dayStart: Int64 = 0, weekStart: Int64 = 0
        var today: Decimal = 0, week: Decimal = 0, withinLimits = false

        mutating func update(_ ledger: [(ms: Int64, amount: Decimal)], day: Int64, week: Int64, dailyFloor: Decimal, weeklyFloor: Decimal) {
            guard entries != ledger.count || dayStart != day || weekStart != week else { return }
            func sum(from ms: Int64) -> Decimal {
                var total: Decimal = 0
                for e in ledger.reversed() where e.ms >= ms { total += e.amount }
                return total
            }
            let t = sum(from: day), w = sum(from: week)
            (entries, dayStart, weekStart, today, self.week, withinLimits) = (ledger.count, day, week, t, w, t > dailyFloor && w > weeklyFloor)
        }
    }

    /// Count of candles of `c` closed by `t` (open + length <= t), advancing a cursor monotonically.
    @inline(__always)
    public static func closedCount(_ c: [Candle], _ length: Int64, _ t: Int64, _ cursor: inout Int) -> Int {
        while cursor < c.count && c[cursor].openTimeMs + length <= t { cursor += 1 }
        return cursor
    }

    /// The price a market order at `now` meets: the open of the minute starting at or after it, else the last close.
    static func price(_ c: [Candle], _ now: Int64) -> Double {
        var lo = 0, hi = c.count
        while lo < hi { let mid = (lo + hi) / 2; if c[mid].openTimeMs < now { lo = mid + 1 } else { hi = mid } }
        if lo < c.count, c[lo].openTimeMs - now < 60_000 { return c[lo].open }
        return c[max(0, min(lo, c.count) - 1)].close
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    /// `signals`, when given, replaces each rules signal (symbol, cycle time, the rules answer) — the
    /// hook `gobot evaluate` and its power test use to plug in other direction calls.
    public func run(cadenceMs: Int64 = 300_000, signals: ((_ symbol: String, _ nowMs: Int64, _ rules: Signal) -> Signal)? = nil) -> Result {
        let starts = symbols.compactMap { m1[$0]?.first?.openTimeMs }, ends = symbols.compactMap { m1[$0]?.last.map { $0.openTimeMs + 60_000 } }
        guard let rangeStart = starts.max(), let rangeEnd = ends.min() else {
            return Result(trades: [], ledgerNet: 0, ledgerFees: 0, ledgerFunding: 0, equity: [], candles: 0, cycles: 0)
        }
        let t = config.trading, r = config.risk
        let feeRate = config.exchange.takerFeeRate
        let cooldownMs = Int64(t.symbolCooldownMinutes) * 60_000
        let warmup: Int64 = 40 * Interval.m15.ms
        var now = (rangeStart + warmup) / cadenceMs * cadenceMs + cadenceMs

        // Exchange books.
        let symbolIndex = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
        let slippageBps = config.exchange.slippageBps
        let m1s = symbols.map { m1[$0]! }, framesOf = symbols.map { frames[$0]! }
        var books = Books(symbols: symbols, m1s: m1s, markSeries: symbols.map { marks[$0] ?? [] }, fundingRates: symbols.map { funding[$0] },
                          tickSizes: symbols.map { rules[$0]?.tickSize ?? 0 }, feeRate: feeRate, slippageBps: slippageBps,
                          ascending: framesOf.map(\.ascending), processedUntil: now / 60_000 * 60_000)
        // gobot's books.
        var trades: [Trade] = []           // positions; exitReason "" while live
        var live: [Int] = []               // indices into trades
        var tradeSymbol: [Int] = []        // the symbol index of each trade
        // Closed trades in the order they closed (time, then index: a cycle closes in index
        // order), and whether each one's net is positive, kept up to date when funding is booked
        // on it: the loss streak and win count are read from these, not from the trades again.
        var closedOrder: [Int] = [], tradeWon: [Bool] = []
        var bookedIncome = 0
        var ledgerNet: Decimal = 0, ledgerFees: Decimal = 0, ledgerFunding: Decimal = 0
        var ledgerByTime: [(ms: Int64, amount: Decimal)] = []
        var lossBreakerUntil: Int64 = 0
        var lossBreakerAtClosed = -1
        var lossStreak = 0, closedCount = 0, winCount = 0
        let m5s = framesOf.map(\.m5), m15s = framesOf.map(\.m15)
        // The 5m and 15m closes alone, for the indicator blocks' vector loads (1m windows are read
        // five candles apart: strided loads from the candles cost the same without a copy of the year).
        let closes5 = framesOf.map(\.closes5), closes15 = framesOf.map(\.closes15)
        let symbolRules = symbols.map { rules[$0] }
        /// Open time of the last entry per symbol (cooldown).
        var lastOpened = [Int64?](repeating: nil, count: symbols.count)
        // Each symbol's analysis state in one buffer allocated here: as elements of arrays, the
        // cursors and blocks mutated every cycle each cost a uniqueness check (a call) per access.
        let cycleMinutes = Int(max(1, cadenceMs / 60_000))
        let analysis = UnsafeMutableBufferPointer<Analysis>.allocate(capacity: symbols.count)
        _ = analysis.initialize(repeating: Analysis(cycleMinutes: cycleMinutes))
        defer { analysis.deallocate() }  // trivial values: nothing to deinitialize
        // One point per cycle, written into buffers of the known cycle count (an append is a call
        // with a uniqueness check) and copied into the result's arrays at the end.
        let cycleCount = now <= rangeEnd ? Int((rangeEnd - now) / cadenceMs) + 1 : 0
        let equity = UnsafeMutableBufferPointer<Double>.allocate(capacity: cycleCount), markedEquity = UnsafeMutableBufferPointer<Double>.allocate(capacity: cycleCount)
        let cycleTimes = UnsafeMutableBufferPointer<Int64>.allocate(capacity: cycleCount)
        defer { equity.deallocate(); markedEquity.deallocate(); cycleTimes.deallocate() }
        var equityNow = t.initialCapitalUSD.doubleValue
        var candidates: [Candidate] = []
        candidates.reserveCapacity(symbols.count)
        var cycles = 0
        var rejections = Tally()
        let maxSymbols = config.universe.maxSymbols
        // Gate rejections proven without the gate's Decimal work (see GateShortcut).
        var shortcut = GateShortcut(config: config, rules: symbols.map { rules[$0] })
        var gateCalls = 0

        // Today's and this week's realized P&L, summed again only when the ledger or the day changes.
        let dailyLossFloor = -t.dailyLossLimitUSD, weeklyLossFloor = -r.weeklyLossLimitUSD
        var pnlSums = PnLSums()

        while now <= rangeEnd {
            cycles += 1

            // scan + analyze: candidates by score, then one signal each. When no entry can happen
            // this cycle (every slot taken, loss breaker open) the answers cannot matter: skip the analysis.
            let canEnter = live.count < r.maxOpenPositions && lossBreakerUntil <= now
            if !candidates.isEmpty { candidates.removeAll(keepingCapacity: true) }
            // Analyzed symbols; only actionable answers are kept in `candidates` (the rest can
            // neither trade nor change the order of those that can: both sorts are stable).
            var analyzed = 0
            for si in symbols.indices {
                if analyzed >= maxSymbols { break }
                let s = symbols[si]
                if live.contains(where: { tradeSymbol[$0] == si }) { continue }
                if let last = lastOpened[si], now - last < cooldownMs { continue }
                let c15 = m15s[si], c5 = m5s[si], c1 = m1s[si]
                let n15 = Self.closedCount(c15, Interval.m15.ms, now, &analysis[si].cursor15)
                let n5 = Self.closedCount(c5, Interval.m5.ms, now, &analysis[si].cursor5)
                let n1 = Self.closedCount(c1, Interval.m1.ms, now, &analysis[si].cursor1)
                guard n15 >= 30 else { continue }
                guard canEnter else {
                    analyzed += 1  // no answer can matter: not kept
                    continue
                }
                // The 15m trend changes only when one more 15m bar closes (the score below too).
                if analysis[si].frame15.closed != n15 {
                    let trend = analysis[si].trend15.values(closes: closes15[si], end: n15).map { RulesAnalyst.trend(fast: $0.0, slow: $0.1) }
                        ?? RulesAnalyst.trend(c15[max(0, n15 - 120)..<n15])
                    analysis[si].frame15 = (n15, .nan, trend)
                }
                let signal: Signal
                if n1 >= 60, n5 >= 120 {
                    // Full windows: the same decision from the cached lane figures (bit for bit the slices' values).
                    signal = RulesAnalyst.decide(trend15: analysis[si].frame15.trend,
                                                 trend5: { analysis[si].trend5.values(closes: closes5[si], end: n5).map { RulesAnalyst.trend(fast: $0.0, slow: $0.1) } ?? 0 },
                                                 last: c1[n1 - 1].close,
                                                 ema1: { analysis[si].m1Figures.values(c1, end: n1)?.0 ?? 0 }, rsi1: { analysis[si].m1Figures.values(c1, end: n1)?.1 ?? 50 },
                                                 atr5: { c5.withUnsafeBufferPointer { Indicators.atrFraction($0[(n5 - 40)..<n5]) } ?? 0 })
                } else {
                    // The step pipeline keeps about 150 m1 candles from its first scan on.
                    let first1 = max(0, n1 - 120)
                    signal = RulesAnalyst.analyze(m1: c1[first1..<n1], m5: c5[max(0, n5 - 120)..<n5], m15: c15[max(0, n15 - 120)..<n15],
                                                  withRationale: false, trend15: analysis[si].frame15.trend)
                }
                analyzed += 1
                let answer = signals?(s, now, signal) ?? signal
                if answer.direction != .none && answer.confidence >= t.minConfidence {
                    // The score orders candidates only: computed for actionable answers, once per 15m bar.
                    if analysis[si].frame15.score.isNaN {
                        let w15 = c15[max(0, n15 - 60)..<n15]
                        let (fast, slow) = analysis[si].score15.values(closes: closes15[si], end: n15) ?? Indicators.emaLastPair(w15, fast: 9, slow: 21)
                        let atr = c15.withUnsafeBufferPointer { Indicators.atrFraction($0[max(0, n15 - 60)..<n15]) } ?? 0.01  // w15's, without slice overhead
                        analysis[si].frame15.score = abs(fast - slow) / slow / max(atr, 0.0001)
                    }
                    candidates.append(Candidate(symbol: s, si: si, score: analysis[si].frame15.score, signal: answer))
                }
            }
            // analyze stores in score order; trade takes confidence, then that order. Only
            // signals the gate could accept need ordering.
            let ordered = candidates.count <= 1 ? candidates : candidates.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                .map(\.element).enumerated().sorted { $0.element.signal.confidence != $1.element.signal.confidence
                    ? $0.element.signal.confidence > $1.element.signal.confidence : $0.offset < $1.offset }.map(\.element)

            // trade
            for cand in ordered where cand.signal.direction != .none && cand.signal.confidence >= t.minConfidence {
                guard let rule = symbolRules[cand.si] else { continue }
                // Integer checks the gate would also reject on, before any Decimal work.
                if live.count >= r.maxOpenPositions || live.contains(where: { tradeSymbol[$0] == cand.si }) || lossBreakerUntil > now { continue }
                if let last = lastOpened[cand.si], now - last < cooldownMs { continue }
                // The gate sizes on the mark price, as the trade step does.
                let priceD = books.markPrice(cand.si, now)
                let day = TradingCalendar.startOfDay(now), week = TradingCalendar.startOfWeek(now)
                // Trades are appended in time order: today's are a suffix.
                var firstToday = trades.count
                while firstToday > 0 && trades[firstToday - 1].openedAtMs >= day { firstToday -= 1 }
                let today = trades[firstToday...]
                if gateShortcuts, shortcut != nil,
                   let code = shortcut!.rejection(symbolIndex: cand.si, side: cand.signal.direction == .long ? .long : .short, price: priceD, rules: rule,
                                                  closedTrades: closedCount, wins: winCount, equity: equityNow, tradesToday: today.count,
                                                  pnlWithinLimits: {
                                                      pnlSums.update(ledgerByTime, day: day, week: week, dailyFloor: dailyLossFloor, weeklyFloor: weeklyLossFloor)
                                                      return pnlSums.withinLimits
                                                  }) {
                    rejections.add(code)
                    continue
                }
                pnlSums.update(ledgerByTime, day: day, week: week, dailyFloor: dailyLossFloor, weeklyFloor: weeklyLossFloor)
                let sums = pnlSums
                let state = RiskState(nowMs: now, equityUSD: t.initialCapitalUSD + ledgerNet, tradesToday: today.count,
                                      pnlTodayUSD: sums.today, pnlWeekUSD: sums.week,
                                      exposureTodayUSD: today.reduce(Decimal(0)) { $0 + $1.entryPrice * $1.quantity },
                                      openPositions: live.count, symbolHasPosition: live.contains { trades[$0].symbol == cand.symbol },
                                      lastEntryOnSymbolMs: tradeSymbol.lastIndex(of: cand.si).map { trades[$0].openedAtMs },
                                      openBreakers: lossBreakerUntil > now ? ["losses"] : [], halted: false)
                let px = Self.decimal(priceD)
                gateCalls += 1
                let verdict = RiskGate.evaluate(symbol: cand.symbol, signal: cand.signal, price: px, rules: rule, state: state,
                                                config: config, closedTrades: closedCount, wins: winCount)
                guard case .success(let plan) = verdict else {
                    if case .failure(let why) = verdict { rejections.add(why.code) }
                    continue
                }
                books.settle(now: now)
                let lastPx = Self.decimal(books.price(cand.si, now))
                if lastPx * plan.quantity < rule.minNotional { continue }
                let entryPx = FillRules.slipped(lastPx, side: plan.side.entrySide, bps: slippageBps, tickSize: rule.tickSize)
                let si = symbolIndex[plan.symbol]!
                books.fill(si, plan.side.entrySide, plan.quantity, entryPx, now)
                trades.append(Trade(symbol: plan.symbol, side: plan.side, quantity: plan.quantity, entryPrice: entryPx, exitPrice: nil, exitReason: "",
                                    openedAtMs: now, closedAtMs: nil, realizedPnl: 0, fees: 0, funding: 0))
                tradeSymbol.append(si)
                tradeWon.append(false)
                lastOpened[si] = now
                let index = trades.count - 1
                live.append(index)
                let prices = ProtectivePrices.compute(side: plan.side, entry: entryPx, stopPercent: t.stopLossPercent,
                                                      targetPercent: t.takeProfitPercent, tickSize: rule.tickSize)
                let mark = px
                let stopImmediate = plan.side.exitSide == .sell ? mark <= prices.stop : mark >= prices.stop
                if stopImmediate {
                    books.fill(si, plan.side.exitSide, plan.quantity, FillRules.slipped(lastPx, side: plan.side.exitSide, bps: slippageBps, tickSize: rule.tickSize), now)
                    continue
                }
                books.algos.append(Algo(symbol: si, side: plan.side.exitSide, isStop: true, trigger: prices.stop, status: .new, positionIndex: index, placedAtMs: now,
                                  triggerValue: prices.stop.doubleValue))
                let targetImmediate = plan.side.exitSide == .sell ? mark >= prices.target : mark <= prices.target
                if !targetImmediate {
                    books.algos.append(Algo(symbol: si, side: plan.side.exitSide, isStop: false, trigger: prices.target, status: .new, positionIndex: index,
                                      placedAtMs: now, triggerValue: prices.target.doubleValue))
                }
            }

            // reconcile
            books.settle(now: now)
            var closedSomething = false
            for index in live where !books.hasPosition[tradeSymbol[index]] {
                closedSomething = true
                var p = trades[index]
                let mine = books.fills.filter { $0.symbol == tradeSymbol[index] && $0.timeMs >= p.openedAtMs }
                let closing = mine.filter { $0.side != p.side.entrySide }
                let qty = closing.reduce(Decimal(0)) { $0 + $1.qty }
                p.realizedPnl = closing.reduce(Decimal(0)) { $0 + $1.realized }
                p.fees = mine.reduce(Decimal(0)) { $0 + $1.commission }
                p.exitPrice = qty > 0 ? (closing.reduce(Decimal(0)) { $0 + $1.price * $1.qty } / qty).rounded(scale: 8) : nil
                p.exitReason = "closed by gobot"
                for k in books.algos.indices where books.algos[k].positionIndex == index {
                    if books.algos[k].status == .finished { p.exitReason = books.algos[k].isStop ? "stop-loss" : "take-profit" }
                    if books.algos[k].status == .new { books.algos[k].status = .canceled }
                }
                p.closedAtMs = now
                trades[index] = p
                closedOrder.append(index)
                tradeWon[index] = p.net > 0
            }
            // Positions close only above; most cycles have neither closes nor orders.
            if closedSomething { live.removeAll { trades[$0].closedAtMs != nil } }
            if !books.algos.isEmpty {
                books.algos.removeAll { $0.status != .new && trades[$0.positionIndex].closedAtMs != nil }
                for k in books.algos.indices where books.algos[k].status == .new && !books.hasPosition[books.algos[k].symbol]
                    && !live.contains(books.algos[k].positionIndex) {
                    books.algos[k].status = .canceled
                }
            }
            let ledgerChanged = bookedIncome < books.incomes.count
            while bookedIncome < books.incomes.count {
                let e = books.incomes[bookedIncome]
                bookedIncome += 1
                ledgerNet += e.amount
                ledgerByTime.append((e.timeMs, e.amount))
                if e.kind == 1 { ledgerFees += e.amount }
                if e.kind == 2 {
                    ledgerFunding += e.amount
                    if let owner = trades.indices.last(where: { tradeSymbol[$0] == e.symbol && trades[$0].openedAtMs <= e.timeMs
                        && (trades[$0].closedAtMs ?? .max) >= e.timeMs }) {
                        trades[owner].funding += e.amount
                        if trades[owner].closedAtMs != nil { tradeWon[owner] = trades[owner].net > 0 }
                    }
                }
            }
            // The loss streak only changes when a position closes or funding is booked.
            if closedSomething || ledgerChanged {
                closedCount = closedOrder.count
                lossStreak = 0
                winCount = 0
                for index in closedOrder {
                    let won = tradeWon[index]
                    lossStreak = won ? 0 : lossStreak + 1
                    if won { winCount += 1 }
                }
            }
            if lossStreak >= r.maxConsecutiveLosses, lossBreakerUntil <= now, lossBreakerAtClosed != closedCount {
                lossBreakerUntil = now + Int64(r.breakerCooldownMinutes) * 60_000
                lossBreakerAtClosed = closedCount
            }
            if ledgerChanged { equityNow = (t.initialCapitalUSD + ledgerNet).doubleValue }
            equity[cycles - 1] = equityNow
            var unrealized = 0.0
            for index in live {
                let s = tradeSymbol[index]
                if books.hasPosition[s] { unrealized += books.amtValue[s] * (books.price(s, now) - books.entryValue[s]) }
            }
            markedEquity[cycles - 1] = equityNow + unrealized
            cycleTimes[cycles - 1] = now
            now += cadenceMs
        }
        var result = Result(trades: trades, ledgerNet: ledgerNet, ledgerFees: ledgerFees, ledgerFunding: ledgerFunding, equity: Array(equity[..<cycles]),
                            candles: symbols.reduce(0) { $0 + (m1[$1]?.count ?? 0) }, cycles: cycles)
        result.rejections = rejections.counts
        result.gateCalls = gateCalls
        result.gateShortcutAnswers = shortcut?.answered ?? 0
        result.triggerSource = .from(withMark: marks.count, of: symbols.count)
        result.markedEquity = Array(markedEquity[..<cycles])
        result.cycleTimesMs = Array(cycleTimes[..<cycles])
        now -= cadenceMs  // the last cycle
        for (si, s) in symbols.enumerated() { result.lastPrices[s] = Self.price(m1s[si], now) }
        return result
    }
}
