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
    struct Algo { var symbol: String; var side: OrderSide; var isStop: Bool; var trigger: Decimal; var status: String; var positionIndex: Int; var placedAtMs: Int64 }
    struct ExchangeFill { var symbol: String; var side: OrderSide; var price: Decimal; var qty: Decimal; var realized: Decimal; var commission: Decimal; var timeMs: Int64 }
    struct Income { var symbol: String; var kind: Int; var amount: Decimal; var timeMs: Int64 }  // kind 0 realized, 1 commission, 2 funding

    let config: GobotConfig
    let symbols: [String]
    let m1: [String: [Candle]]
    let m5: [String: [Candle]]
    let m15: [String: [Candle]]
    let funding: [String: [Int64: Double]]
    let rules: [String: SymbolRules]
    /// 1m mark-price candles by symbol: stops and targets trigger on them where present.
    let marks: [String: [Candle]]

    public init(config: GobotConfig, series: [String: [Candle]], funding: [String: [Int64: Double]], rules: [String: SymbolRules],
                markSeries: [String: [Candle]] = [:]) {
        self.config = config
        symbols = series.keys.sorted()
        m1 = series
        var a: [String: [Candle]] = [:], b: [String: [Candle]] = [:]
        for (s, c) in series {
            a[s] = CandleResampler.resample(c, to: .m5)
            b[s] = CandleResampler.resample(c, to: .m15)
        }
        m5 = a
        m15 = b
        self.funding = funding
        self.rules = rules
        marks = markSeries.filter { series[$0.key] != nil && !$0.value.isEmpty }
    }

    static func decimal(_ x: Double) -> Decimal { Decimal(price: x) ?? 0 }

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
        var amt: [String: Decimal] = [:], entry: [String: Decimal] = [:]
        var algos: [Algo] = []
        var fills: [ExchangeFill] = []
        var incomes: [Income] = []
        var processedUntil = now / 60_000 * 60_000
        var settleCursor: [String: Int] = [:], markCursor: [String: Int] = [:]
        let slippageBps = config.exchange.slippageBps
        // gobot's books.
        var trades: [Trade] = []           // positions; exitReason "" while live
        var live: [Int] = []               // indices into trades
        var bookedIncome = 0
        var ledgerNet: Decimal = 0, ledgerFees: Decimal = 0, ledgerFunding: Decimal = 0
        var ledgerByTime: [(ms: Int64, amount: Decimal)] = []
        var lossBreakerUntil: Int64 = 0
        var lossBreakerAtClosed = -1
        var lossStreak = 0, closedCount = 0, winCount = 0
        var cursors1 = [Int](repeating: 0, count: symbols.count), cursors5 = cursors1, cursors15 = cursors1
        let m1s = symbols.map { m1[$0]! }, m5s = symbols.map { m5[$0]! }, m15s = symbols.map { m15[$0]! }
        let symbolIndex = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
        /// Open time of the last entry per symbol (cooldown), and the 15m figures at their last close count.
        var lastOpened = [Int64?](repeating: nil, count: symbols.count)
        var frame15 = [(closed: Int, score: Double, trend: Double)](repeating: (-1, 0, 0), count: symbols.count)
        var equity: [Double] = []
        equity.reserveCapacity(Int((rangeEnd - now) / cadenceMs) + 1)
        var equityNow = t.initialCapitalUSD.doubleValue
        var markedEquity: [Double] = [], cycleTimes: [Int64] = []
        markedEquity.reserveCapacity(equity.capacity)
        cycleTimes.reserveCapacity(equity.capacity)
        var candidates: [(symbol: String, score: Double, signal: Signal)] = []
        candidates.reserveCapacity(symbols.count)
        var cycles = 0
        var rejections: [String: Int] = [:]

        func fill(_ symbol: String, _ side: OrderSide, _ qty: Decimal, _ price: Decimal, _ atMs: Int64) {
            let a = amt[symbol] ?? 0
            let signed = side == .buy ? qty : -qty
            var realized: Decimal = 0
            if a != 0 && (a > 0) != (signed > 0) {
                let closing = min(abs(a), qty)
                realized = (price - (entry[symbol] ?? 0)) * closing * (a > 0 ? 1 : -1)
                let n = a + signed
                amt[symbol] = n
                if n == 0 { entry[symbol] = 0 } else if (n > 0) == (signed > 0) { entry[symbol] = price }
            } else {
                let n = a + signed
                entry[symbol] = n == 0 ? 0 : ((entry[symbol] ?? 0) * abs(a) + price * qty) / abs(n)
                amt[symbol] = n
            }
            let commission = (price * qty * feeRate).rounded(scale: 8)
            fills.append(ExchangeFill(symbol: symbol, side: side, price: price, qty: qty, realized: realized, commission: commission, timeMs: atMs))
            if realized != 0 { incomes.append(Income(symbol: symbol, kind: 0, amount: realized, timeMs: atMs)) }
            incomes.append(Income(symbol: symbol, kind: 1, amount: -commission, timeMs: atMs))
        }

        /// Protective triggers and funding for every closed minute since the last call.
        func settle() {
            let until = now / 60_000 * 60_000
            guard until > processedUntil else { return }
            for s in symbols where (amt[s] ?? 0) != 0 || algos.contains(where: { $0.symbol == s && $0.status == "NEW" }) {
                guard let series = m1[s] else { continue }
                var i = settleCursor[s] ?? 0
                while i > 0 && series[i - 1].openTimeMs >= processedUntil { i -= 1 }
                if let m = marks[s], var j = markCursor[s] {
                    while j > 0 && m[j - 1].openTimeMs >= processedUntil { j -= 1 }
                    markCursor[s] = j
                }
                while i < series.count && series[i].openTimeMs < processedUntil { i += 1 }
                let markSeries = marks[s] ?? []
                var j = markCursor[s] ?? 0
                while i < series.count && series[i].openTimeMs + 60_000 <= until {
                    let c = series[i]
                    while j < markSeries.count && markSeries[j].openTimeMs < c.openTimeMs { j += 1 }
                    let mark = j < markSeries.count && markSeries[j].openTimeMs == c.openTimeMs ? markSeries[j] : nil
                    if c.openTimeMs % 28_800_000 == 0, let rate = funding[s]?[c.openTimeMs], let a = amt[s], a != 0 {
                        let amount = -(a * Self.decimal((mark ?? c).open) * Self.decimal(rate)).rounded(scale: 8)
                        incomes.append(Income(symbol: s, kind: 2, amount: amount, timeMs: c.openTimeMs))
                    }
                    // Stops before take-profits, then by placement order.
                    let order = algos.indices.filter { algos[$0].symbol == s && algos[$0].status == "NEW" }.sorted {
                        (algos[$0].isStop ? 0 : 1, $0) < (algos[$1].isStop ? 0 : 1, $1)
                    }
                    for k in order {
                        let a = algos[k]
                        guard let reached = FillRules.protectiveFill(isStop: a.isStop, side: a.side, trigger: a.trigger, last: c, mark: mark,
                                                                     placedAtMs: a.placedAtMs) else { continue }
                        let p = amt[s] ?? 0
                        guard (a.side == .sell && p > 0) || (a.side == .buy && p < 0) else { algos[k].status = "EXPIRED"; continue }
                        let tick = rules[s]?.tickSize ?? 0
                        fill(s, a.side, abs(p), FillRules.slipped(reached, side: a.side, bps: slippageBps, tickSize: tick), c.openTimeMs + 30_000)
                        algos[k].status = "FINISHED"
                        break
                    }
                    i += 1
                }
                markCursor[s] = j
                settleCursor[s] = i
            }
            processedUntil = until
        }

        func price(_ s: String) -> Double { Self.price(m1[s]!, now) }

        /// What the paper exchange reports as the mark price: the mark series where it covers `now`.
        func markPrice(_ s: String) -> Double {
            guard let m = marks[s], let first = m.first, let last = m.last, first.openTimeMs <= now, now < last.openTimeMs + 60_000 else { return price(s) }
            return Self.price(m, now)
        }

        func ledgerSum(from ms: Int64) -> Decimal {
            var total: Decimal = 0
            for e in ledgerByTime.reversed() where e.ms >= ms { total += e.amount }
            return total
        }

        while now <= rangeEnd {
            cycles += 1

            // scan + analyze: candidates by score, then one signal each. When no entry can happen
            // this cycle (every slot taken, loss breaker open) the answers cannot matter: skip the analysis.
            let canEnter = live.count < r.maxOpenPositions && lossBreakerUntil <= now
            candidates.removeAll(keepingCapacity: true)
            for si in symbols.indices {
                if candidates.count >= config.universe.maxSymbols { break }
                let s = symbols[si]
                if live.contains(where: { trades[$0].symbol == s }) { continue }
                if let last = lastOpened[si], now - last < cooldownMs { continue }
                let c15 = m15s[si], c5 = m5s[si], c1 = m1s[si]
                let n15 = Self.closedCount(c15, Interval.m15.ms, now, &cursors15[si])
                let n5 = Self.closedCount(c5, Interval.m5.ms, now, &cursors5[si])
                let n1 = Self.closedCount(c1, Interval.m1.ms, now, &cursors1[si])
                guard n15 >= 30 else { continue }
                // Everything computed from closed 15m bars changes only when one more closes.
                if frame15[si].closed != n15 {
                    let w15 = c15[max(0, n15 - 60)..<n15]
                    let (fast, slow) = Indicators.emaLastPair(w15, fast: 9, slow: 21)
                    let atr = Indicators.atrFraction(w15) ?? 0.01
                    frame15[si] = (n15, abs(fast - slow) / slow / max(atr, 0.0001), RulesAnalyst.trend(c15[max(0, n15 - 120)..<n15]))
                }
                let score = frame15[si].score
                guard canEnter else {
                    candidates.append((s, score, Signal(direction: .none, confidence: 0, rationale: "", model: RulesAnalyst.model)))
                    continue
                }
                // The step pipeline keeps about 150 m1 candles from its first scan on.
                let first1 = max(0, n1 - 120)
                let signal = RulesAnalyst.analyze(m1: c1[first1..<n1], m5: c5[max(0, n5 - 120)..<n5], m15: c15[max(0, n15 - 120)..<n15],
                                                  withRationale: false, trend15: frame15[si].trend)
                candidates.append((s, score, signals?(s, now, signal) ?? signal))
            }
            // analyze stores in score order; trade takes confidence, then that order. Only
            // signals the gate could accept need ordering.
            let actionable = candidates.contains { $0.signal.direction != .none && $0.signal.confidence >= t.minConfidence }
            let ordered = !actionable ? [] : candidates.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                .map(\.element).enumerated().sorted { $0.element.signal.confidence != $1.element.signal.confidence
                    ? $0.element.signal.confidence > $1.element.signal.confidence : $0.offset < $1.offset }.map(\.element)

            // trade
            for cand in ordered where cand.signal.direction != .none && cand.signal.confidence >= t.minConfidence {
                guard let rule = rules[cand.symbol] else { continue }
                // Integer checks the gate would also reject on, before any Decimal work.
                if live.count >= r.maxOpenPositions || live.contains(where: { trades[$0].symbol == cand.symbol }) || lossBreakerUntil > now { continue }
                if let last = lastOpened[symbolIndex[cand.symbol]!], now - last < cooldownMs { continue }
                // Even the capped size cannot reach the minimum: the gate would say below_min_notional.
                // Only a clear miss is skipped here; near the boundary the Decimal gate decides.
                // The gate sizes on the mark price, as the trade step does.
                let priceD = markPrice(cand.symbol), step = rule.marketStepSize.doubleValue
                let maxQty = (t.maxPositionUSD.doubleValue / priceD / step).rounded(.down) * step
                if maxQty * priceD < rule.minNotional.doubleValue * 0.999 || maxQty < rule.marketMinQty.doubleValue * 0.999 {
                    rejections["below_min_notional", default: 0] += 1
                    continue
                }
                // A clearly negative Kelly edge, even at the best reward:risk tick rounding allows.
                let p = KellySizer.winRate(closedTrades: closedCount, wins: winCount, prior: r.kellyPriorWinRate, priorTrades: r.kellyPriorTrades)
                let tick = rule.tickSize.doubleValue
                let rrMax = (t.takeProfitPercent.doubleValue / 100 * priceD + tick) / max(t.stopLossPercent.doubleValue / 100 * priceD - tick, 1e-12)
                if p - (1 - p) / rrMax < -1e-9 {
                    rejections["kelly", default: 0] += 1
                    continue
                }
                let day = TradingCalendar.startOfDay(now), week = TradingCalendar.startOfWeek(now)
                let today = trades.filter { $0.openedAtMs >= day }
                let state = RiskState(nowMs: now, equityUSD: t.initialCapitalUSD + ledgerNet, tradesToday: today.count,
                                      pnlTodayUSD: ledgerSum(from: day), pnlWeekUSD: ledgerSum(from: week),
                                      exposureTodayUSD: today.reduce(Decimal(0)) { $0 + $1.entryPrice * $1.quantity },
                                      openPositions: live.count, symbolHasPosition: live.contains { trades[$0].symbol == cand.symbol },
                                      lastEntryOnSymbolMs: trades.last(where: { $0.symbol == cand.symbol })?.openedAtMs,
                                      openBreakers: lossBreakerUntil > now ? ["losses"] : [], halted: false)
                let px = Self.decimal(priceD)
                let verdict = RiskGate.evaluate(symbol: cand.symbol, signal: cand.signal, price: px, rules: rule, state: state,
                                                config: config, closedTrades: closedCount, wins: winCount)
                guard case .success(let plan) = verdict else {
                    if case .failure(let why) = verdict { rejections[why.code, default: 0] += 1 }
                    continue
                }
                settle()
                let lastPx = Self.decimal(price(cand.symbol))
                if lastPx * plan.quantity < rule.minNotional { continue }
                let entryPx = FillRules.slipped(lastPx, side: plan.side.entrySide, bps: slippageBps, tickSize: rule.tickSize)
                fill(plan.symbol, plan.side.entrySide, plan.quantity, entryPx, now)
                trades.append(Trade(symbol: plan.symbol, side: plan.side, quantity: plan.quantity, entryPrice: entryPx, exitPrice: nil, exitReason: "",
                                    openedAtMs: now, closedAtMs: nil, realizedPnl: 0, fees: 0, funding: 0))
                lastOpened[symbolIndex[plan.symbol]!] = now
                let index = trades.count - 1
                live.append(index)
                let prices = ProtectivePrices.compute(side: plan.side, entry: entryPx, stopPercent: t.stopLossPercent,
                                                      targetPercent: t.takeProfitPercent, tickSize: rule.tickSize)
                let mark = px
                let stopImmediate = plan.side.exitSide == .sell ? mark <= prices.stop : mark >= prices.stop
                if stopImmediate {
                    fill(plan.symbol, plan.side.exitSide, plan.quantity, FillRules.slipped(lastPx, side: plan.side.exitSide, bps: slippageBps, tickSize: rule.tickSize), now)
                    continue
                }
                algos.append(Algo(symbol: plan.symbol, side: plan.side.exitSide, isStop: true, trigger: prices.stop, status: "NEW", positionIndex: index, placedAtMs: now))
                let targetImmediate = plan.side.exitSide == .sell ? mark >= prices.target : mark <= prices.target
                if !targetImmediate {
                    algos.append(Algo(symbol: plan.symbol, side: plan.side.exitSide, isStop: false, trigger: prices.target, status: "NEW", positionIndex: index, placedAtMs: now))
                }
            }

            // reconcile
            settle()
            var closedSomething = false
            for index in live where (amt[trades[index].symbol] ?? 0) == 0 {
                closedSomething = true
                var p = trades[index]
                let mine = fills.filter { $0.symbol == p.symbol && $0.timeMs >= p.openedAtMs }
                let closing = mine.filter { $0.side != p.side.entrySide }
                let qty = closing.reduce(Decimal(0)) { $0 + $1.qty }
                p.realizedPnl = closing.reduce(Decimal(0)) { $0 + $1.realized }
                p.fees = mine.reduce(Decimal(0)) { $0 + $1.commission }
                p.exitPrice = qty > 0 ? (closing.reduce(Decimal(0)) { $0 + $1.price * $1.qty } / qty).rounded(scale: 8) : nil
                p.exitReason = "closed by gobot"
                for k in algos.indices where algos[k].positionIndex == index {
                    if algos[k].status == "FINISHED" { p.exitReason = algos[k].isStop ? "stop-loss" : "take-profit" }
                    if algos[k].status == "NEW" { algos[k].status = "CANCELED" }
                }
                p.closedAtMs = now
                trades[index] = p
            }
            live.removeAll { trades[$0].closedAtMs != nil }
            algos.removeAll { $0.status != "NEW" && trades[$0.positionIndex].closedAtMs != nil }
            for k in algos.indices where algos[k].status == "NEW" && (amt[algos[k].symbol] ?? 0) == 0 && !live.contains(algos[k].positionIndex) {
                algos[k].status = "CANCELED"
            }
            let ledgerChanged = bookedIncome < incomes.count
            while bookedIncome < incomes.count {
                let e = incomes[bookedIncome]
                bookedIncome += 1
                ledgerNet += e.amount
                ledgerByTime.append((e.timeMs, e.amount))
                if e.kind == 1 { ledgerFees += e.amount }
                if e.kind == 2 {
                    ledgerFunding += e.amount
                    if let owner = trades.indices.last(where: { trades[$0].symbol == e.symbol && trades[$0].openedAtMs <= e.timeMs
                        && (trades[$0].closedAtMs ?? .max) >= e.timeMs }) {
                        trades[owner].funding += e.amount
                    }
                }
            }
            // The loss streak only changes when a position closes or funding is booked.
            if closedSomething || ledgerChanged {
                let closed = trades.filter { $0.closedAtMs != nil }.enumerated().sorted { ($0.element.closedAtMs!, $0.offset) < ($1.element.closedAtMs!, $1.offset) }
                closedCount = closed.count
                lossStreak = 0
                winCount = 0
                for c in closed {
                    let won = c.element.net > 0
                    lossStreak = won ? 0 : lossStreak + 1
                    if won { winCount += 1 }
                }
            }
            if lossStreak >= r.maxConsecutiveLosses, lossBreakerUntil <= now, lossBreakerAtClosed != closedCount {
                lossBreakerUntil = now + Int64(r.breakerCooldownMinutes) * 60_000
                lossBreakerAtClosed = closedCount
            }
            if ledgerChanged { equityNow = (t.initialCapitalUSD + ledgerNet).doubleValue }
            equity.append(equityNow)
            var unrealized = 0.0
            for index in live {
                let s = trades[index].symbol
                if let a = amt[s], a != 0 { unrealized += a.doubleValue * (price(s) - (entry[s] ?? 0).doubleValue) }
            }
            markedEquity.append(equityNow + unrealized)
            cycleTimes.append(now)
            now += cadenceMs
        }
        var result = Result(trades: trades, ledgerNet: ledgerNet, ledgerFees: ledgerFees, ledgerFunding: ledgerFunding, equity: equity,
                            candles: symbols.reduce(0) { $0 + (m1[$1]?.count ?? 0) }, cycles: cycles)
        result.rejections = rejections
        result.triggerSource = .from(withMark: marks.count, of: symbols.count)
        result.markedEquity = markedEquity
        result.cycleTimesMs = cycleTimes
        now -= cadenceMs  // the last cycle
        for s in symbols { result.lastPrices[s] = price(s) }
        return result
    }
}
