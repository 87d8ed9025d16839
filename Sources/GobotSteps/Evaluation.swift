import BinanceFutures
import Foundation
import GobotCore
import PaperExchange

/// `gobot evaluate`: the analyst's trades on the in-memory engine, measured against random
/// directions at the same entries (see docs/EVALUATION.md).
public enum Evaluation {
    public struct Options: Sendable {
        public var dataDir: String
        public var fromMs: Int64?
        public var toMs: Int64?
        public var exchangeInfoPath: String
        public var edge = EdgeEvaluation.Options()

        public init(dataDir: String, fromMs: Int64? = nil, toMs: Int64? = nil, exchangeInfoPath: String) {
            self.dataDir = dataDir
            self.fromMs = fromMs
            self.toMs = toMs
            self.exchangeInfoPath = exchangeInfoPath
        }
    }

    public struct Outcome: Sendable {
        public var engine: CoreBacktest.Result
        public var report: EdgeEvaluation.Report
        public var text: String
    }

    /// The market a run works on: candles, funding, symbol rules, and the config adapted to them.
    public struct Market: Sendable {
        public var series: [String: [Candle]]
        public var funding: [String: [Int64: Double]]
        public var rules: [String: SymbolRules]
        public var config: GobotConfig
        public var rangeMs: (from: Int64, to: Int64)
    }

    public static func load(config base: GobotConfig, options: Options) throws -> Market {
        let market = try ReplayData.load(dir: options.dataDir, fromMs: options.fromMs, toMs: options.toMs)
        guard let range = market.range else { throw StepError.failed("no candles in \(options.dataDir) for the chosen window") }
        let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: options.exchangeInfoPath)))
        var config = base
        config.universe.symbols = market.symbols()
        config.universe.maxSymbols = max(config.universe.maxSymbols, market.symbols().count)
        config.exchange.environment = .paper
        // The engine's first cycle: after 40 quarter-hours of warm-up.
        let warmup: Int64 = 40 * Interval.m15.ms
        let first = (range.startMs + warmup) / 300_000 * 300_000 + 300_000
        return Market(series: market.series, funding: market.funding, rules: info.rules, config: config, rangeMs: (first, range.endMs))
    }

    /// Runs the engine (with `signals` replacing the rules analyst's calls when given) and evaluates its trades.
    public static func run(market m: Market, edge: EdgeEvaluation.Options, title: String = "gobot evaluate (rules analyst, in-memory engine)",
                           signals: ((_ symbol: String, _ nowMs: Int64, _ rules: Signal) -> Signal)? = nil) -> Outcome {
        let engine = CoreBacktest(config: m.config, series: m.series, funding: m.funding, rules: m.rules).run(signals: signals)
        let report = EdgeEvaluation.evaluate(entries: engine.trades.map(EdgeEvaluation.Entry.init), config: m.config, series: m.series,
                                             funding: m.funding, rules: m.rules, rangeMs: m.rangeMs, options: edge)
        return Outcome(engine: engine, report: report, text: EdgeReportText.render(report, title: title))
    }

    /// Break-even, random baseline and verdict lines for a finished backtest of the step pipeline.
    public static func backtestLines(config: GobotConfig, market: ReplayMarket, rules: [String: SymbolRules], positions: [(symbol: String, side: PositionSide,
                                     openedAtMs: Int64, entryPrice: Decimal, quantity: Decimal)], rangeMs: (from: Int64, to: Int64), seeds: Int = 1000) -> [String] {
        let entries = positions.map { EdgeEvaluation.Entry(symbol: $0.symbol, side: $0.side, openedAtMs: $0.openedAtMs, entryPrice: $0.entryPrice, quantity: $0.quantity) }
        let r = EdgeEvaluation.evaluate(entries: entries, config: config, series: market.series, funding: market.funding, rules: rules,
                                        rangeMs: rangeMs, options: EdgeEvaluation.Options(seeds: seeds, folds: 1))
        return [String(format: "break-even win rate %.1f %% after fees", r.breakEvenWinRate * 100)]
            + EdgeReportText.lines(r.whole, breakEven: r.breakEvenWinRate, seeds: r.seeds, indent: "")
            + [r.whole.verdict]
    }
}
