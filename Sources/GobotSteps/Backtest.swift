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
        /// Break-even win rate, random baseline and verdict (docs/EVALUATION.md).
        public var edgeLines: [String] = []

        public var closed: [PositionRow] { positions.filter { $0.status == "closed" } }
        public var wins: Int { closed.filter { $0.netPnl > 0 }.count }
        public var maxDrawdownUSD: Double { Statistics.maxDrawdown(equity.map(\.usd)) }
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
        let exchange = PaperExchange(db: db, market: market, rules: info.rules, feeRate: config.exchange.takerFeeRate,
                                     initialBalance: config.trading.initialCapitalUSD, nowMs: { clock.nowMs() })
        var ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: [:]), step: .backtest, exchange: exchange, analyst: analyst)
        ctx.saveCharts = false
        var equity: [(Int64, Double)] = []
        var t = start
        while t <= range.endMs {
            clock.set(t)
            _ = try await Steps.scan(ctx)
            _ = try await Steps.analyze(ctx)
            _ = try await Steps.trade(ctx)
            _ = try await Steps.reconcile(ctx)
            let net = try db.ledgerTotals(fromMs: 0).net
            equity.append((t, (config.trading.initialCapitalUSD + net).doubleValue))
            t += cadence
        }
        var result = Result(positions: try db.positions(), signals: try db.signals(), totals: try db.ledgerTotals(fromMs: 0),
                            equity: equity, startMs: start, endMs: min(t, range.endMs), candles: market.series.values.reduce(0) { $0 + $1.count },
                            initialCapital: config.trading.initialCapitalUSD)
        result.edgeLines = Evaluation.backtestLines(config: config, market: market, rules: info.rules, positions: result.positions
            .filter { $0.status == "open" || $0.status == "closed" }.map { ($0.symbol, $0.side, $0.openedAtMs, $0.entryPrice, $0.quantity) },
                                                    rangeMs: (start, range.endMs))
        return result
    }

    public static func summary(_ r: Result) -> String {
        let closed = r.closed
        let w = Statistics.wilson(successes: r.wins, trials: closed.count)
        let rejected = Dictionary(grouping: r.signals.filter { $0.status == "rejected" }, by: { ($0.decision ?? "").split(separator: ":").first.map(String.init) ?? "" })
            .map { "\($0.key) \($0.value.count)" }.sorted()
        var lines = [
            "backtest \(TradingCalendar.dayString(r.startMs)) → \(TradingCalendar.dayString(r.endMs)) UTC, \(r.candles) 1m candles",
            "trades: \(closed.count) closed, \(r.wins) won" + (closed.isEmpty ? "" : String(format: ", win rate %.1f%% (95%% Wilson %.1f–%.1f%%)",
                Double(r.wins) / Double(closed.count) * 100, w.low * 100, w.high * 100)),
            "net P&L: \(r.totals.net.rounded(scale: 4)) USD (realized \(r.totals.realized.rounded(scale: 4)), fees \(r.totals.commission.rounded(scale: 4)), funding \(r.totals.funding.rounded(scale: 4)))",
            String(format: "max drawdown: %.4f USD", r.maxDrawdownUSD),
            "signals: \(r.signals.count), rejected by reason: \(rejected.joined(separator: ", "))",
        ]
        lines += r.edgeLines
        for p in closed.prefix(50) {
            lines.append("  \(TradingCalendar.dayString(p.openedAtMs)) \(p.side.rawValue) \(p.symbol) qty \(p.quantity.plainString) @ \(p.entryPrice.plainString) → \(p.exitPrice?.plainString ?? "-") \(p.exitReason ?? "") net \(p.netPnl.rounded(scale: 4))")
        }
        return lines.joined(separator: "\n")
    }
}
