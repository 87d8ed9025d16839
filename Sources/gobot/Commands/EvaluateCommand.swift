import ArgumentParser
import Foundation
import GobotCore
import GobotSteps

extension Gobot {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Does the analyst beat random directions after fees? Win rate, expectancy, drawdown, random baseline and a verdict, per fold and symbol.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Folder with klines/SYMBOL-1m.csv and funding/SYMBOL.csv.") var data: String = "sample-data"
        @Option(help: "exchangeInfo JSON giving tick/step sizes and minimum notional.") var exchangeInfo: String?
        @Option(help: "Start (UTC), YYYY-MM-DD.") var from: String?
        @Option(help: "End (UTC, exclusive), YYYY-MM-DD.") var to: String?
        @Option(help: "rules (the in-memory engine). vision is not evaluated by this command yet.") var analyst: AnalystKind = .rules
        @Option(help: "Contiguous walk-forward folds.") var folds: Int = 4
        @Option(help: "Random-direction seeds for the baseline.") var seeds: Int = 1000
        @Option(help: "Seed of the random generator (same seed, same figures).") var seed: UInt64 = 20_250_520
        @Option(help: "Where evaluate.html goes.") var out: String = "state/reports"

        func validate() throws {
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, BacktestCommand.parseDay(value) == nil { throw ValidationError("\(name) must be a date like 2025-05-20, got '\(value)'.") }
            }
            guard (1...52).contains(folds) else { throw ValidationError("--folds must be between 1 and 52, got \(folds).") }
            guard (10...100_000).contains(seeds) else { throw ValidationError("--seeds must be between 10 and 100000, got \(seeds).") }
            guard analyst == .rules else {
                throw ValidationError("--analyst vision is not available in evaluate yet; use `gobot backtest --analyst vision` (docs/EVALUATION.md).")
            }
        }

        func run() async throws {
            let runner = global.runner()
            let config = try global.offlineConfig(runner)
            var options = Evaluation.Options(dataDir: data, fromMs: from.flatMap(BacktestCommand.parseDay), toMs: to.flatMap(BacktestCommand.parseDay),
                                             exchangeInfoPath: exchangeInfo ?? "\(data)/exchangeInfo.json")
            options.edge = EdgeEvaluation.Options(seeds: seeds, folds: folds, seed: seed)
            let market: Evaluation.Market
            do { market = try Evaluation.load(config: config, options: options) } catch {
                throw Terminal.fail("evaluate: \(error)", code: StepExit.failed.rawValue)
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = Evaluation.run(market: market, edge: options.edge)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            print(result.text)
            let path = try EvaluationReport.write(result.report, text: result.text, dir: out)
            print(String(format: "wrote %@ (%d candles, %d seeds, %.2f s)", path, result.engine.candles, seeds, seconds))
        }
    }
}

extension Gobot {
    struct Scorecard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per analyst model: labelled signals, hit rate with its interval vs break-even, calibration, expectancy, cost; the edge breaker.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.runner().run(.status) { try Steps.scorecard($0) })
        }
    }
}
