import ArgumentParser
import Foundation
import GobotCore
import GobotSteps

extension Gobot {
    struct BacktestCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backtest",
            abstract: "Run scan → analyze → trade → reconcile over history on the paper exchange (no look-ahead).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Folder with klines/SYMBOL-1m.csv and funding/SYMBOL.csv.") var data: String = "sample-data"
        @Option(help: "exchangeInfo JSON giving tick/step sizes and minimum notional.") var exchangeInfo: String?
        @Option(help: "Start (UTC), YYYY-MM-DD.") var from: String?
        @Option(help: "End (UTC, exclusive), YYYY-MM-DD.") var to: String?
        @Option(help: "Where the equity PNG and HTML report go.") var out: String = "state/reports"

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
            let config: GobotConfig
            do {
                config = FileManager.default.fileExists(atPath: global.config) ? try runner.loadConfig() : GobotConfig()
            } catch { throw Terminal.fail(error.description, code: StepExit.badConfig.rawValue) }
            let options = Backtest.Options(dataDir: data, fromMs: from.flatMap(Self.parseDay), toMs: to.flatMap(Self.parseDay),
                                           exchangeInfoPath: exchangeInfo ?? "\(data)/exchangeInfo.json")
            let result: Backtest.Result
            do { result = try await Backtest.run(config: config, options: options) } catch {
                throw Terminal.fail("backtest: \(error)", code: StepExit.failed.rawValue)
            }
            print(Backtest.summary(result))
            let files = try BacktestReport.write(result, dir: out)
            print("wrote \(files.joined(separator: ", "))")
        }
    }
}
