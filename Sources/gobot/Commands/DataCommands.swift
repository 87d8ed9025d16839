import ArgumentParser
import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotSteps

extension Gobot {
    struct DataCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Get history into the replay layout that backtest and paper_data_dir read, and check it.",
            subcommands: [Download.self, Import.self, Check.self])

        struct Download: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Download 1m klines, 1m mark-price klines, funding history and exchangeInfo from Binance's public API (no keys).",
                discussion: """
                    Resumable: a second run fetches only what is missing. Stays inside the weight budget shared \
                    with the cron steps (exchange.weight_budget_per_minute, in the state database) and waits out \
                    429s; a ban (418), a long back-off or no network exit 75 and list what was kept.
                    """)
            @OptionGroup var global: GlobalOptions
            @Option(help: "Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.") var symbols: String
            @Option(help: "Start (UTC), YYYY-MM-DD.") var from: String
            @Option(help: "End (UTC, exclusive), YYYY-MM-DD.") var to: String
            @Option(help: "Replay folder to fill.") var dir: String = "data"
            @Option(help: "API root (default the production USDⓈ-M API; history is public).") var baseURL: String = "https://fapi.binance.com"

            var symbolList: [String] { symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty } }

            func validate() throws {
                for (name, value) in [("--from", from), ("--to", to)] where BacktestCommand.parseDay(value) == nil {
                    throw ValidationError("\(name) must be a date like 2025-05-20, got '\(value)'.")
                }
                if symbolList.isEmpty { throw ValidationError("--symbols needs at least one symbol, e.g. --symbols BTCUSDT,ETHUSDT.") }
            }

            func run() async throws {
                let runner = global.runner()
                let config: GobotConfig
                do {
                    config = FileManager.default.fileExists(atPath: global.config) ? try runner.loadConfig() : GobotConfig()
                } catch { throw Terminal.fail(error.description, code: StepExit.badConfig.rawValue) }
                let c = config.exchange
                let paths = runner.paths(for: config)
                let client: BinanceClient
                do {
                    try paths.createDirectories()
                    let db = try GobotDatabase.open(path: paths.database)
                    let state = DatabaseExchangeState(db: db, breakerThreshold: c.circuitBreakerFailures, breakerCooldownMs: Int64(c.circuitBreakerCooldownSeconds) * 1000)
                    client = BinanceClient(baseURL: baseURL, transport: URLSessionTransport(timeoutSeconds: c.requestTimeoutSeconds), credentials: nil,
                                           state: state, recvWindowMs: c.recvWindowMs, weightBudget: c.weightBudgetPerMinute,
                                           nowMs: { runner.clock.nowMs() })
                } catch { throw Terminal.fail("data download: \(error)", code: StepExit.failed.rawValue) }
                let tty = isatty(STDERR_FILENO) == 1
                let bar = ProgressBar(enabled: tty)
                let download = HistoryDownload(client: client, nowMs: { runner.clock.nowMs() }, progress: { bar.show($0) })
                let options = HistoryDownload.Options(symbols: symbolList, fromMs: BacktestCommand.parseDay(from)!, toMs: BacktestCommand.parseDay(to)!, dir: dir)
                do {
                    _ = try await download.run(options) { report in
                        bar.clear()
                        FileHandle.standardOutput.write(Data((report.line + "\n").utf8))  // unbuffered: one line per symbol as it finishes
                    }
                    print("wrote \(dir) (exchangeInfo.json, klines/, markprice/, funding/); backtest with: gobot backtest --data \(dir)")
                } catch let e as HistoryDownload.DownloadError {
                    bar.clear()
                    switch e {
                    case .unknownSymbol, .beforeListing, .badRange: throw Terminal.fail("data download: \(e)", code: StepExit.usage.rawValue)
                    case .interrupted(let cause, _):
                        throw Terminal.fail("data download: \(e)", code: cause.isTemporary ? StepExit.tryLater.rawValue : StepExit.failed.rawValue)
                    }
                } catch {
                    bar.clear()
                    throw Terminal.fail("data download: \(error)", code: StepExit.failed.rawValue)
                }
            }
        }

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Import Binance's published 1m kline CSVs (SYMBOL-1m-YYYY-MM[-DD].csv) or freqtrade JSON candles into the replay layout.")
            @Argument(help: "Files, or folders holding them.") var paths: [String]
            @Option(help: "Replay folder to merge into.") var dir: String = "data"
            @Flag(help: "The files are mark-price klines (Binance's markPriceKlines dumps carry the same names).") var mark = false

            func run() async throws {
                do {
                    let report = try HistoryImport.run(paths: paths, dir: dir, mark: mark)
                    for line in report.lines { print(line) }
                } catch { throw Terminal.fail("data import: \(error)", code: StepExit.failed.rawValue) }
            }
        }

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Report gaps, duplicates, out-of-order or off-grid minutes and impossible OHLC per symbol; exit 1 when any.")
            @Argument(help: "Replay folder.") var dir: String = "data"

            func run() async throws {
                let results: [DataCheck.FileResult]
                do { results = try DataCheck.run(dir: dir) } catch { throw Terminal.fail("data check: \(error)", code: StepExit.failed.rawValue) }
                for r in results { print(r.line) }
                let bad = results.filter { !$0.clean }.count
                if bad > 0 { throw Terminal.fail("data check: \(bad) of \(results.count) files have problems", code: StepExit.failed.rawValue) }
                print("data check: \(results.count) files ok")
            }
        }
    }
}

/// One progress line on a terminal, redrawn in place; nothing when output is not a terminal.
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    private let lock = NSLock()
    private var lastDrawn = ""

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: HistoryDownload.Progress) {
        guard enabled else { return }
        let width = 30, filled = Int((p.fraction * Double(width)).rounded(.down))
        let text = "\r\(p.symbol) \(p.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(Int(p.fraction * 100))%"
        lock.lock(); defer { lock.unlock() }
        guard text != lastDrawn else { return }
        lastDrawn = text
        FileHandle.standardError.write(Data(text.utf8))
    }

    func clear() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if !lastDrawn.isEmpty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        lastDrawn = ""
    }
}
