import ArgumentParser
import Foundation
import GobotCore
import GobotStore
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
        @Option(help: "rules (every decision of the in-memory engine) or vision (the configured endpoint at --sample K decision points, at a cost estimated before the first request).")
        var analyst: AnalystKind = .rules
        @Option(help: "With --analyst vision: how many decision points to ask about, stratified over the range and the symbols (same --seed, same points).")
        var sample: Int?
        @Option(help: "With --analyst vision: the one budget in USD for this whole run, when the estimate exceeds analyst.daily_budget_usd.")
        var budget: String?
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
            if analyst == .vision {
                guard let sample else { throw ValidationError("--analyst vision needs --sample K (the number of decision points to pay for).") }
                guard (1...100_000).contains(sample) else { throw ValidationError("--sample must be between 1 and 100000, got \(sample).") }
                if let budget, Decimal(exchangeString: budget).map({ $0 > 0 }) != true {
                    throw ValidationError("--budget must be a positive amount in USD like 2.50, got '\(budget)'.")
                }
            } else if sample != nil || budget != nil {
                throw ValidationError("--sample and --budget apply to --analyst vision only.")
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
            if analyst == .vision { return try await runVision(config: config, market: market, edge: options.edge, runner: runner) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = Evaluation.run(market: market, edge: options.edge)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            print(result.text)
            let path = try EvaluationReport.write(result.report, text: result.text, dir: out)
            print(String(format: "wrote %@ (%d candles, %d seeds, %.2f s)", path, result.engine.candles, seeds, seconds))
        }

        /// The vision analyst at --sample points: estimate, refuse over budget, ask what is not cached, report.
        func runVision(config: GobotConfig, market: Evaluation.Market, edge: EdgeEvaluation.Options, runner: StepRunner) async throws {
            guard let key = Secrets(environment: runner.environment).openAIKey else {
                throw Terminal.fail("evaluate: OPENAI_API_KEY is not set (needed for --analyst vision)", code: StepExit.badConfig.rawValue)
            }
            var options = VisionEvaluation.Options(sample: sample ?? 0, seed: seed, budgetUSD: budget.flatMap { Decimal(exchangeString: $0) },
                                                   runId: String(Int(Date().timeIntervalSince1970)))
            options.edge = edge
            let outcome: VisionEvaluation.Outcome
            do {
                // The answer cache and the spend live in the state database, as for the backtest: a repeated run pays nothing.
                let db = try GobotDatabase.open(path: runner.paths(for: config).database)
                let vision = VisionEvaluation.analyst(config: config, apiKey: key, db: db, options: options)
                outcome = try await VisionEvaluation.run(market: market, analyst: vision, options: options) { print($0) }
            } catch let error as VisionEvaluation.Failure {
                throw Terminal.fail("evaluate: \(error)", code: StepExit.usage.rawValue)
            } catch {
                throw Terminal.fail("evaluate: \(error)", code: StepExit.failed.rawValue)
            }
            print(outcome.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(outcome.plan.lines.count).joined(separator: "\n"))
            let path = try EvaluationReport.write(outcome.vision.report, text: outcome.text, dir: out)
            print("wrote \(path)")
            if !outcome.complete { throw ExitCode(StepExit.failed.rawValue) }
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
