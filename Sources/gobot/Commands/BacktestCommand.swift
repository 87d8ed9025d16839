import ArgumentParser
import Foundation
import GobotCore
import GobotSteps
import GobotStore
import Analysts

extension Gobot {
    struct BacktestCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backtest",
            abstract: "Backtest the rules over history (no look-ahead) on the in-memory engine; --pipeline replays the cron steps through SQLite instead.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Folder with klines/SYMBOL-1m.csv and funding/SYMBOL.csv.") var data: String = "sample-data"
        @Option(help: "exchangeInfo JSON giving tick/step sizes and minimum notional.") var exchangeInfo: String?
        @Option(help: "Start (UTC), YYYY-MM-DD.") var from: String?
        @Option(help: "End (UTC, exclusive), YYYY-MM-DD.") var to: String?
        @Option(help: "Where the equity PNG and HTML report go.") var out: String = "state/reports"
        @Option(help: "rules (default, free, deterministic) or vision (the configured OpenAI-compatible endpoint; answers are cached in the state database and count against analyst.daily_budget_usd).")
        var analyst: AnalystKind = .rules
        @Flag(help: "Replay scan → analyze → trade → reconcile through SQLite on the paper exchange (minutes per symbol-year) instead of the in-memory engine; both make the same trades. Implied by --analyst vision.")
        var pipeline = false

        func validate() throws {
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, Self.parseDay(value) == nil { throw ValidationError("\(name) must be a date like 2025-05-20, got '\(value)'.") }
            }
        }

        static func parseDay(_ s: String) -> Int64? {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd"
            return f.date(from: s).map { Int64($0.timeIntervalSince1970 * 1000) }
        }

        func run() async throws {
            let runner = global.runner()
            let config = try global.offlineConfig(runner)
            let options = Backtest.Options(dataDir: data, fromMs: from.flatMap(Self.parseDay), toMs: to.flatMap(Self.parseDay),
                                           exchangeInfoPath: exchangeInfo ?? "\(data)/exchangeInfo.json")
            if analyst == .rules && !pipeline {
                let outcome: BacktestOutcome
                do { outcome = try Backtest.runEngine(config: config, options: options) } catch {
                    throw Terminal.fail("backtest: \(error)", code: StepExit.failed.rawValue)
                }
                print(outcome.summary())
                let files = try BacktestReport.write(outcome, dir: out)
                print("wrote \(files.joined(separator: ", "))")
                return
            }
            var chosen = config
            chosen.analyst.kind = analyst
            let analystImpl: any Analyst
            do {
                // The vision cache and spend live in the state database, so a repeated backtest never pays twice.
                let db = try GobotDatabase.open(path: runner.paths(for: config).database)
                // One budget for the whole run, in real money: simulated days get no budget of their own.
                analystImpl = try AnalystFactory.make(config: chosen, db: db, secrets: Secrets(environment: runner.environment), clock: SystemClock(),
                                                      budgetPeriod: "backtest-\(Int(Date().timeIntervalSince1970))")
                if analyst == .vision { print("analyst budget for this run: \(chosen.analyst.dailyBudgetUSD) USD (analyst.daily_budget_usd), cached answers are free") }
            } catch { throw Terminal.fail("backtest: \(error)", code: StepExit.badConfig.rawValue) }
            let result: Backtest.Result
            do { result = try await Backtest.run(config: config, options: options, analyst: analystImpl) } catch {
                throw Terminal.fail("backtest: \(error)", code: StepExit.failed.rawValue)
            }
            print(Backtest.summary(result))
            let files = try BacktestReport.write(result, dir: out)
            print("wrote \(files.joined(separator: ", "))")
        }
    }
}

extension AnalystKind: ExpressibleByArgument {}
