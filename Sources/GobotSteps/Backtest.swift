import Analysts
import BinanceFutures
import Foundation
import GobotCore
import GobotStore
import PaperExchange

/// Runs the real scan → analyze → trade → reconcile steps over history, on the paper exchange,
/// with a simulated clock that ticks like cron. Candles after the clock are never visible.
public enum Backtest {
    public struct Options: Sendable {
        public var dataDir: String
        public var fromMs: Int64?
        public var toMs: Int64?
        public var cadenceMinutes: Int = 5
        public var exchangeInfoPath: String
        /// Only these symbols of the data folder (all when nil).
        public var symbols: [String]?

        public init(dataDir: String, fromMs: Int64? = nil, toMs: Int64? = nil, exchangeInfoPath: String) {
            self.dataDir = dataDir
            self.fromMs = fromMs
            self.toMs = toMs
            self.exchangeInfoPath = exchangeInfoPath
        }
    }

    public struct Result: Sendable {
        public var positions: [PositionRow]
        public var signals: [GobotDatabase.StoredSignal]
        public var totals: GobotDatabase.LedgerTotals
        public var equity: [(ms: Int64, usd: Double)]
        public var startMs: Int64
        public var endMs: Int64
        public var candles: Int
        public var initialCapital: Decimal
        /// Whether stops and targets triggered on mark-price klines (as live) or on the last price.
        public var triggerSource: TriggerPriceSource = .lastPrice
        /// Equity per step with open positions marked to market.
        public var markedEquity: [Double] = []
        /// Price per symbol at the last step, for marking positions still open.
        public var lastPrices: [String: Double] = [:]
        public var neverTradable: [String] = []
        /// Break-even win rate, random baseline and verdict (docs/EVALUATION.md).
        public var edgeLines: [String] = []
        /// Analyst requests, cost and skipped decisions by reason (vision only).
        public var analystLines: [String] = []
        /// Wall seconds spent in each step over the whole run (scan, analyze, trade, reconcile,
        /// and the replay's own equity bookkeeping), so `bench` can say where a cycle goes.
        public var stepSeconds: [(step: String, seconds: Double)] = []

        public var closed: [PositionRow] { positions.filter { $0.status == "closed" } }
        public var wins: Int { closed.filter { $0.netPnl > 0 }.count }
        /// Marked to market: open positions count.
        public var maxDrawdownUSD: Double { Statistics.maxDrawdown(markedEquity.isEmpty ? equity.map(\.usd) : markedEquity) }
    }

    public static func run(config base: GobotConfig, options: Options, analyst: any Analyst = RulesAnalystAdapter()) async throws -> Result {
        let market = try ReplayData.load(dir: options.dataDir, symbols: options.symbols, fromMs: options.fromMs, toMs: options.toMs)
        guard let range = market.range else { throw StepError.failed("no candles in \(options.dataDir) for the chosen window") }
        let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: options.exchangeInfoPath)))
        var config = base
        config.universe.symbols = market.symbols()
        config.universe.maxSymbols = max(config.universe.maxSymbols, market.symbols().count)
        config.emergency.killSwitchEnabled = false  // a backtest moves no money
        config.exchange.environment = .paper

        let warmup: Int64 = 40 * Interval.m15.ms
        let cadence = Int64(options.cadenceMinutes) * 60_000
        let start = (range.startMs + warmup) / cadence * cadence + cadence
        let clock = ManualClock(ms: start)
        let db = try GobotDatabase.inMemory()
        let exchange = PaperExchange(db: db, market: market, rules: info.rules, feeRate: config.exchange.takerFeeRate, slippageBps: config.exchange.slippageBps,
                                     initialBalance: config.trading.initialCapitalUSD, nowMs: { clock.nowMs() })
        var ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: [:]), step: .backtest, exchange: exchange, analyst: analyst)
        ctx.saveCharts = false
        var equity: [(Int64, Double)] = []
        var marked: [Double] = []
        var t = start
        // The ledger only grows: its total is read again only when rows were added.
        var ledger: (rows: Int, net: Decimal) = (-1, 0)
        var spent = [UInt64](repeating: 0, count: 5)
        func lap(_ i: Int, _ since: inout UInt64) {
            let now = DispatchTime.now().uptimeNanoseconds
            spent[i] &+= now &- since
            since = now
        }
        while t <= range.endMs {
            // Thousands of cycles of synchronous database work with no suspension point would hold
            // a cooperative thread (one per core) for the whole run and starve every other task in
            // the process; a yield every 8 simulated cycles (a few milliseconds) keeps the pool fair.
            if (t - start) / cadence % 8 == 0 { await Task.yield() }
            clock.set(t)
            var lapStart = DispatchTime.now().uptimeNanoseconds
            _ = try await Steps.scan(ctx)
            lap(0, &lapStart)
            _ = try await Steps.analyze(ctx)
            lap(1, &lapStart)
            _ = try await Steps.trade(ctx)
            lap(2, &lapStart)
            _ = try await Steps.reconcile(ctx)
            lap(3, &lapStart)
            let rows = try db.ledgerRowCount()
            if rows != ledger.rows { ledger = (rows, try db.ledgerTotals(fromMs: 0).net) }
            let net = ledger.net
            let usd = (config.trading.initialCapitalUSD + net).doubleValue
            equity.append((t, usd))
            var unrealized = 0.0
            for p in try db.livePositions() {
                let mark = try await market.price(symbol: p.symbol, atMs: t)
                unrealized += (mark - p.entryPrice.doubleValue) * p.quantity.doubleValue * (p.side == .long ? 1 : -1)
            }
            marked.append(usd + unrealized)
            lap(4, &lapStart)
            t += cadence
        }
        var lastPrices: [String: Double] = [:]
        for s in market.symbols() { lastPrices[s] = try await market.price(symbol: s, atMs: t - cadence) }
        var result = Result(positions: try db.positions(), signals: try db.signals(), totals: try db.ledgerTotals(fromMs: 0),
                            equity: equity, startMs: start, endMs: min(t, range.endMs), candles: market.series.values.reduce(0) { $0 + $1.count },
                            initialCapital: config.trading.initialCapitalUSD)
        result.triggerSource = market.triggerPriceSource
        result.markedEquity = marked
        result.lastPrices = lastPrices
        result.stepSeconds = zip(["scan", "analyze", "trade", "reconcile", "replay bookkeeping"], spent).map { ($0, Double($1) / 1e9) }
        result.neverTradable = BacktestOutcome.neverTradable(lowest: market.series.mapValues { $0.map(\.low).min() ?? 0 }, rules: info.rules, config: config)
        result.edgeLines = Evaluation.backtestLines(config: config, market: market, rules: info.rules, positions: result.positions
            .filter { $0.status == "open" || $0.status == "closed" }.map { ($0.symbol, $0.side, $0.openedAtMs, $0.entryPrice, $0.quantity) },
                                                    rangeMs: (start, range.endMs))
        if let vision = analyst as? VisionAnalyst { result.analystLines = try analystLines(db: db, signals: result.signals, budgetUSD: vision.budgetUSD) }
        return result
    }

    /// The vision analyst's part of the summary: the one budget, what was paid and cached, and every
    /// decision that got no usable answer, by reason.
    static func analystLines(db: GobotDatabase, signals: [GobotDatabase.StoredSignal], budgetUSD: Decimal) throws -> [String] {
        let paid = signals.filter { $0.signal.costUSD > 0 }
        let cost = paid.reduce(0) { $0 + $1.signal.costUSD }
        let unusable = signals.filter { $0.signal.timeframeAgreement == nil }.count
        let skips = try db.analystSkipTotals()
        let skipped = skips.values.reduce(0, +) + unusable
        return [String(format: "analyst: budget for the whole run %@ USD, spent %.6f USD on %d paid answers; %d from the cache (free)",
                       budgetUSD.plainString, cost, paid.count, signals.count - paid.count),
                "analyst decisions skipped: \(skipped)" + (skipped == 0 ? "" : " (" + (skips.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    + (unusable > 0 ? ["unusable_answer \(unusable)"] : [])).joined(separator: ", ") + ")")
                    + (skips["budget_exhausted"].map { " — the budget ran out: \($0) decisions got no answer" } ?? "")]
    }

    /// The same backtest on the in-memory engine (``CoreBacktest``): identical trades (a test
    /// runs both), without SQLite in the loop, so a year of one symbol takes well under a second.
    public static func runEngine(config base: GobotConfig, options: Options) throws -> BacktestOutcome {
        let data = try ReplayData.loadSeries(dir: options.dataDir, symbols: options.symbols, fromMs: options.fromMs, toMs: options.toMs)
        let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: options.exchangeInfoPath)))
        var config = base
        let symbols = data.candles.keys.sorted()
        config.universe.symbols = symbols
        config.universe.maxSymbols = max(config.universe.maxSymbols, symbols.count)
        config.emergency.killSwitchEnabled = false
        config.exchange.environment = .paper
        let cadence = Int64(options.cadenceMinutes) * 60_000
        let r = CoreBacktest(config: config, series: data.candles, funding: data.funding, rules: info.rules, markSeries: data.marks).run(cadenceMs: cadence)
        guard let first = r.cycleTimesMs.first, let last = r.cycleTimesMs.last else {
            throw StepError.failed("no complete cycle in \(options.dataDir) for the chosen window (a run needs 10 hours of warm-up candles)")
        }
        let trades = r.trades.map { p in
            let mark = p.closedAtMs == nil ? r.lastPrices[p.symbol].flatMap { Decimal(price: $0) } : nil
            return BacktestOutcome.Trade(symbol: p.symbol, side: p.side, quantity: p.quantity, entryPrice: p.entryPrice, openedAtMs: p.openedAtMs,
                                         closedAtMs: p.closedAtMs, exitPrice: p.exitPrice, exitReason: p.exitReason, net: mark.map {
                                             BacktestOutcome.unrealized(side: p.side, quantity: p.quantity, entry: p.entryPrice, mark: $0)
                                         } ?? p.net, markPrice: mark)
        }
        let edgeLines = Evaluation.backtestLines(config: config, market: ReplayMarket(series: data.candles, funding: data.funding, markSeries: data.marks),
                                                 rules: info.rules, positions: r.trades.map { ($0.symbol, $0.side, $0.openedAtMs, $0.entryPrice, $0.quantity) },
                                                 rangeMs: (first, last))
        return BacktestOutcome(engine: "in-memory engine", trades: trades, realized: r.ledgerNet - r.ledgerFees - r.ledgerFunding, commission: r.ledgerFees,
                               funding: r.ledgerFunding, markedEquity: Array(zip(r.cycleTimesMs, r.markedEquity)),
                               startMs: first, endMs: last, candles: r.candles, initialCapital: config.trading.initialCapitalUSD,
                               rejections: r.rejections, triggerSource: r.triggerSource,
                               neverTradable: BacktestOutcome.neverTradable(lowest: data.candles.mapValues { $0.map(\.low).min() ?? 0 },
                                                                            rules: info.rules, config: config),
                               edgeLines: edgeLines)
    }

    /// The step pipeline's result in the common report shape.
    public static func outcome(_ r: Result) -> BacktestOutcome {
        let trades = r.positions.filter { $0.status != "failed" }.map { p in
            let open = p.status != "closed"
            let mark = open ? r.lastPrices[p.symbol].flatMap { Decimal(price: $0) } : nil
            return BacktestOutcome.Trade(symbol: p.symbol, side: p.side, quantity: p.quantity, entryPrice: p.entryPrice, openedAtMs: p.openedAtMs,
                                         closedAtMs: open ? nil : p.closedAtMs, exitPrice: p.exitPrice, exitReason: p.exitReason ?? "",
                                         net: mark.map { BacktestOutcome.unrealized(side: p.side, quantity: p.quantity, entry: p.entryPrice, mark: $0) } ?? p.netPnl,
                                         markPrice: mark)
        }
        var rejections: [String: Int] = [:]
        for s in r.signals where s.status == "rejected" {
            rejections[(s.decision ?? "").split(separator: ":").first.map(String.init) ?? "", default: 0] += 1
        }
        let marked = r.markedEquity.isEmpty ? r.equity.map(\.usd) : r.markedEquity
        return BacktestOutcome(engine: "step pipeline through SQLite", trades: trades, realized: r.totals.realized, commission: r.totals.commission,
                               funding: r.totals.funding, markedEquity: Array(zip(r.equity.map(\.ms), marked)),
                               startMs: r.startMs, endMs: r.equity.last?.ms ?? r.endMs, candles: r.candles, initialCapital: r.initialCapital,
                               rejections: rejections, triggerSource: r.triggerSource, neverTradable: r.neverTradable,
                               edgeLines: r.edgeLines, analystLines: r.analystLines)
    }

    public static func summary(_ r: Result) -> String { outcome(r).summary() }
}
