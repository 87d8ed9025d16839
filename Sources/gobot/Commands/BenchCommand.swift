import ArgumentParser
import BinanceFutures
import Charts
import Foundation
import GobotCore
import GobotSteps
import PaperExchange

extension Gobot {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print speed figures with their targets: charts, CSV parsing, the engine, a whole backtest process, paper replay steps, memory and the step pipeline.")
        @Option(help: "Days of 1m candles (one symbol) for the step pipeline benchmark.") var days: Int = 30
        @Option(help: "Measure on your own data: a folder (klines/SYMBOL-1m.csv, exchangeInfo.json) or one CSV file with the header open_time_ms,open,high,low,close,volume, instead of a synthetic year.") var data: String?
        @Flag(help: "Charts only.") var chartsOnly = false
        @Flag(help: "Skip the charts (e.g. when timing the engine beside other engines).") var skipCharts = false
        @Flag(help: "Skip the (slow) step pipeline.") var engineOnly = false
        @Flag(help: "Only the step pipeline (for profiling it).") var pipelineOnly = false
        @Option(help: "Timed runs of the engine (after one warm-up run); its figure is their median.") var engineRuns: Int = 7

        func validate() throws {
            if chartsOnly && skipCharts { throw ValidationError("--charts-only and --skip-charts exclude each other.") }
            if pipelineOnly && (engineOnly || chartsOnly) { throw ValidationError("--pipeline-only excludes --engine-only and --charts-only.") }
            guard (1...366).contains(days) else { throw ValidationError("--days must be between 1 and 366, got \(days).") }
            guard (1...1000).contains(engineRuns) else { throw ValidationError("--engine-runs must be between 1 and 1000, got \(engineRuns).") }
            if let data, !FileManager.default.fileExists(atPath: "\(data)/klines") && !Self.isFile(data) {
                throw ValidationError("--data \(data): neither a CSV file nor a folder with klines/ (expected klines/SYMBOL-1m.csv files).")
            }
        }

        static func isFile(_ path: String) -> Bool {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
        }

        /// Whether a figure meets its target, printed after the target.
        static func met(_ ok: Bool) -> String { ok ? "met" : "NOT met" }

        static func rate(_ x: Double) -> String {
            x >= 1e6 ? String(format: "%.2f M", x / 1e6) : x >= 1e3 ? String(format: "%.1f k", x / 1e3) : String(format: "%.0f ", x)
        }

        func run() async throws {
            if !skipCharts && !pipelineOnly { charts() }
            if chartsOnly { return }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-bench-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            if let data, Self.isFile(data) { try file(data) } else if let data { try await own(data: data, scratch: dir) } else { try await synthetic(dir: dir) }
        }

        /// The figures of issue #12 on a synthetic symbol-year (525,600 1m candles).
        func synthetic(dir: String) async throws {
            let start: Int64 = 1_735_689_600_000  // 2025-01-01
            let year = "\(dir)/year", week = "\(dir)/week", ten = "\(dir)/ten"
            for d in [year, week, ten] { try FileManager.default.createDirectory(atPath: "\(d)/klines", withIntermediateDirectories: true) }
            let candles = Benchmarks.syntheticOnTicks(count: 365 * 1440, startMs: start)
            if pipelineOnly { return try await syntheticPipeline(dir: dir, candles: candles) }
            let yearFile = "\(year)/klines/XRPUSDT-1m.csv"
            try Benchmarks.writeKlines(candles, path: yearFile)
            try Benchmarks.writeKlines(Array(candles.suffix(7 * 1440)), path: "\(week)/klines/XRPUSDT-1m.csv")
            let tenSymbols = (0..<10).map { "SYM\($0)USDT" }
            for s in tenSymbols { try FileManager.default.createSymbolicLink(atPath: "\(ten)/klines/\(s)-1m.csv", withDestinationPath: yearFile) }
            try Benchmarks.exchangeInfoJSON(symbols: ["XRPUSDT"]).write(toFile: "\(year)/exchangeInfo.json", atomically: true, encoding: .utf8)
            try Benchmarks.exchangeInfoJSON(symbols: ["XRPUSDT"]).write(toFile: "\(week)/exchangeInfo.json", atomically: true, encoding: .utf8)
            try Benchmarks.exchangeInfoJSON(symbols: tenSymbols).write(toFile: "\(ten)/exchangeInfo.json", atomically: true, encoding: .utf8)
            let size = (try FileManager.default.attributesOfItem(atPath: yearFile)[.size] as? Int) ?? 0

            // 2. The CSV reader.
            let parse = try Benchmarks.best(of: 5) { try ReplayData.parseKlines(path: yearFile) }
            print(String(format: "csv: one symbol-year (%d rows, %.1f MB) parsed in %.3f s = %@rows/s (target >= 5 M rows/s, load < 0.1 s: %@)",
                         parse.value.count, Double(size) / 1e6, parse.seconds, Self.rate(Double(parse.value.count) / parse.seconds),
                         Self.met(parse.seconds < 0.1 && Double(parse.value.count) / parse.seconds >= 5e6)))

            // 4. The engine, one symbol-year, rules analyst.
            let rules = try ExchangeInfoDecoder.decode(Data(Benchmarks.exchangeInfoJSON(symbols: ["XRPUSDT"]).utf8)).rules
            let engine = Benchmarks.timed(runs: engineRuns) {
                CoreBacktest(config: GobotConfig(), series: ["XRPUSDT": parse.value], funding: [:], rules: rules).run()
            }
            print(String(format: "engine: one symbol-year (%d candles, analysis every 5 min, rules analyst, risk gate, fees) in %.3f s median = %@candles/s (target >= 5 M/s on the median: %@), %d trades, net %@ USD",
                         engine.value.candles, engine.timings.median, Self.rate(Double(engine.value.candles) / engine.timings.median),
                         Self.met(Double(engine.value.candles) / engine.timings.median >= 5e6), engine.value.trades.count,
                         "\(engine.value.ledgerNet.rounded(scale: 4))"))
            print(Self.spread(engine.timings, candles: engine.value.candles))
            print(Self.rejections(engine.value))

            // 1. The whole `gobot backtest` process.
            let exe = CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0] : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0]
            var runs: [Double] = []
            for _ in 0..<3 {
                runs.append(try Benchmarks.timeChild(exe, ["backtest", "--data", year, "--out", "\(dir)/out"], cwd: dir).seconds)
            }
            print(String(format: "backtest: whole `gobot backtest` process, one symbol-year, in %.2f s wall best of 3 (%.2f s worst) (target < 1 s on 2 cores: %@)",
                         runs.min()!, runs.max()!, Self.met(runs.min()! < 1)))

            // 3. Paper replay steps read a window, whatever the length of the recording.
            var steps: [Double] = []
            for (name, d) in [("7-day", week), ("1-year", year)] {
                let files = try ReplayFiles(dir: d)
                let now = candles.last!.openTimeMs
                let step = try await Benchmarks.bestAsync(of: 20) { try await Benchmarks.paperStepReads(files, symbol: "XRPUSDT", nowMs: now) }
                steps.append(step)
                print(String(format: "paper replay: the market reads of one cron step on a %@ recording: %.2f ms (target: the same for 7 days and a year)",
                             name, step * 1000))
            }
            // "The same" within timing noise: the year may cost at most half as much again as the week.
            print("paper replay: 1-year step / 7-day step = \(String(format: "%.2f", steps[1] / steps[0])) (target <= 1.5: \(Self.met(steps[1] <= 1.5 * steps[0])))")

            // 7. Memory: ten symbol-years through the engine, in a child process of its own.
            let mem = try Benchmarks.timeChild(exe, ["backtest", "--data", ten, "--out", "\(dir)/out10"], cwd: dir)
            print(String(format: "memory: 10 symbol-years (%d candles) through `gobot backtest` in %.2f s, peak RSS %.0f MB (target < 500 MB: %@)",
                         10 * candles.count, mem.seconds, mem.peakMB, Self.met(mem.peakMB < 500)))

            // 5. The step pipeline.
            if engineOnly { return }
            try await syntheticPipeline(dir: dir, candles: candles)
        }

        /// The first `days` days of the synthetic year through the step pipeline.
        func syntheticPipeline(dir: String, candles: [Candle]) async throws {
            let pdir = "\(dir)/pipeline"
            try FileManager.default.createDirectory(atPath: "\(pdir)/klines", withIntermediateDirectories: true)
            try Benchmarks.writeKlines(Array(candles.prefix(days * 1440)), path: "\(pdir)/klines/XRPUSDT-1m.csv")
            try Benchmarks.exchangeInfoJSON(symbols: ["XRPUSDT"]).write(toFile: "\(pdir)/exchangeInfo.json", atomically: true, encoding: .utf8)
            try await pipeline(dir: pdir, label: "\(days) days, one symbol")
        }

        func pipeline(dir: String, label: String, fromMs: Int64? = nil) async throws {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var options = Backtest.Options(dataDir: dir, fromMs: fromMs, exchangeInfoPath: "\(dir)/exchangeInfo.json")
            options.cadenceMinutes = 5
            let r = try await Backtest.run(config: GobotConfig(), options: options)
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            // Issue #12 item 5 asks for 10x the build of the day it was filed, which only a run of
            // both builds on the same candles can tell: scripts/bench-pipeline-base.sh does that.
            print(String(format: "pipeline: %d 1m candles (%@, scan→analyze→trade→reconcile every 5 min through SQLite, paper exchange) in %.2f s = %@candles/s, %d trades (target: 10x the build of the day issue #12 was filed, e1a7896, on the same candles; scripts/bench-pipeline-base.sh runs both side by side)",
                         r.candles, label, s, Self.rate(Double(r.candles) / s), r.closed.count))
            let cycles = Double(max(r.equity.count, 1))
            print("pipeline per cycle (\(r.equity.count) cycles): " + r.stepSeconds.map { String(format: "%@ %.3f ms", $0.step, $0.seconds * 1000 / cycles) }.joined(separator: ", "))
        }

        func charts() {
            let c = Benchmarks.charts()
            print(String(format: "charts: 3 charts (1024x640, 120 candles) in %.2f ms best, %.2f ms mean, %d PNG bytes (target < 30 ms: %@)", c.bestMs, c.meanMs, c.bytes,
                         Self.met(c.bestMs < 30)))
            let split = CandleChart.profile(Benchmarks.synthetic(count: 120, startMs: 0))
            print(String(format: "charts: one chart = %.2f ms drawing + %.2f ms PNG encoding", split.drawMs, split.encodeMs))
        }

        /// Parse and engine figures on one CSV file (the peers harness's format), for comparing
        /// engines on the same file. Exchange rules are made to fit its prices (tick about five
        /// significant digits, a quantity step that buys well under the position cap), since a
        /// file alone has no exchangeInfo; the step pipeline needs a data folder and is skipped.
        func file(_ path: String) throws {
            let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let parse = try Benchmarks.best(of: 3) { try ReplayData.parseKlines(path: path) }
            guard let first = parse.value.first else { throw ValidationError("--data \(path): no candle rows") }
            print(String(format: "csv: %@: %d rows, %.1f MB parsed in %.3f s = %@rows/s (target >= 5 M rows/s)",
                         path, parse.value.count, Double(bytes) / 1e6, parse.seconds, Self.rate(Double(parse.value.count) / parse.seconds)))
            let symbol = "FILEUSDT"
            let magnitude = Int((log10(max(first.close, 1e-9))).rounded(.down))
            func power(_ e: Int) -> String { e >= 0 ? "1" + String(repeating: "0", count: e) : "0." + String(repeating: "0", count: -e - 1) + "1" }
            let json = Benchmarks.exchangeInfoJSON(symbols: [symbol], tickSize: power(magnitude - 5), stepSize: power(-magnitude - 1))
            let rules = try ExchangeInfoDecoder.decode(Data(json.utf8)).rules
            var config = GobotConfig()
            config.universe.symbols = [symbol]
            let engine = Benchmarks.timed(runs: engineRuns) { CoreBacktest(config: config, series: [symbol: parse.value], funding: [:], rules: rules).run() }
            print(String(format: "engine: %d candles in %.3f s median = %@candles/s (target >= 5 M/s on the median: %@), %d trades (%d won), net %@ USD (tick %@, step %@); peak RSS %.0f MB",
                         engine.value.candles, engine.timings.median, Self.rate(Double(engine.value.candles) / engine.timings.median),
                         Self.met(Double(engine.value.candles) / engine.timings.median >= 5e6), engine.value.trades.count,
                         engine.value.trades.filter { $0.net > 0 }.count,
                         "\(engine.value.ledgerNet.rounded(scale: 4))", rules[symbol]!.tickSize.plainString, rules[symbol]!.marketStepSize.plainString,
                         Benchmarks.peakRSSMegabytes()))
            print(Self.spread(engine.timings, candles: engine.value.candles))
            print(Self.rejections(engine.value))
            print(String(format: "total: parse + engine %.3f s", parse.seconds + engine.timings.median))
        }

        /// The spread of the engine's timed runs: the target is judged on the median, and the
        /// slowest run shows whether it holds every time.
        static func spread(_ t: Benchmarks.Timings, candles: Int) -> String {
            String(format: "engine runs: min %.3f s / median %.3f s / max %.3f s of %d after a warm-up (%@ / %@ / %@candles/s; every run: %@; CPU s: %@; page faults: %@)",
                   t.min, t.median, t.max, t.seconds.count, Self.rate(Double(candles) / t.min), Self.rate(Double(candles) / t.median),
                   Self.rate(Double(candles) / t.max), t.seconds.map { String(format: "%.3f", $0) }.joined(separator: " "),
                   t.cpuSeconds.map { String(format: "%.3f", $0) }.joined(separator: " "), t.pageFaults.map(String.init).joined(separator: " "))
        }

        /// The engine's gate rejections of actionable signals by reason, on one line.
        static func rejections(_ r: CoreBacktest.Result) -> String {
            let counts = r.rejections.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            return "engine rejections: " + (counts.isEmpty ? "none" : counts.joined(separator: ", "))
                + " (\(r.gateCalls) risk-gate calls, \(r.gateShortcutAnswers) rejections proven without it)"
        }

        /// Parse, engine and pipeline figures on the user's own files.
        func own(data: String, scratch: String) async throws {
            let symbols = ReplayData.symbols(dir: data)
            if pipelineOnly {
                // The pipeline alone in a process that has done nothing else (no parse or engine
                // runs before it, whose heaps it would inherit): what scripts/bench-pipeline-base.sh times.
                let end = try symbols.compactMap { try ReplayData.parseKlines(path: "\(data)/klines/\($0)-1m.csv").last?.openTimeMs }.min() ?? 0
                return try await pipeline(dir: data, label: "last \(days) days of \(symbols.count) symbols", fromMs: end - Int64(days) * 86_400_000)
            }
            var rows = 0, bytes = 0
            let parse = try Benchmarks.best(of: 3) { () -> [String: [Candle]] in
                var out: [String: [Candle]] = [:]
                for s in symbols { out[s] = try ReplayData.parseKlines(path: "\(data)/klines/\(s)-1m.csv") }
                return out
            }
            for s in symbols {
                rows += parse.value[s]?.count ?? 0
                bytes += (try FileManager.default.attributesOfItem(atPath: "\(data)/klines/\(s)-1m.csv")[.size] as? Int) ?? 0
            }
            print(String(format: "csv: %d files, %d rows, %.1f MB parsed in %.3f s = %@rows/s (target >= 5 M rows/s)",
                         symbols.count, rows, Double(bytes) / 1e6, parse.seconds, Self.rate(Double(rows) / parse.seconds)))
            let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: "\(data)/exchangeInfo.json")))
            var config = GobotConfig()
            config.universe.symbols = symbols
            config.universe.maxSymbols = max(config.universe.maxSymbols, symbols.count)
            let funding = symbols.reduce(into: [String: [Int64: Double]]()) { $0[$1] = ReplayData.loadFunding(path: "\(data)/funding/\($1).csv") }
            let engine = Benchmarks.timed(runs: engineRuns) { CoreBacktest(config: config, series: parse.value, funding: funding, rules: info.rules).run() }
            print(String(format: "engine: %d symbols, %d candles in %.3f s median = %@candles/s (target >= 5 M/s per symbol-year), %d trades, net %@ USD; peak RSS %.0f MB",
                         symbols.count, engine.value.candles, engine.timings.median, Self.rate(Double(engine.value.candles) / engine.timings.median),
                         engine.value.trades.count, "\(engine.value.ledgerNet.rounded(scale: 4))", Benchmarks.peakRSSMegabytes()))
            print(Self.spread(engine.timings, candles: engine.value.candles))
            print(Self.rejections(engine.value))
            if engineOnly { return }
            // The pipeline on the last `days` days (plus warm-up) of the folder.
            let end = parse.value.values.compactMap { $0.last?.openTimeMs }.min() ?? 0
            try await pipeline(dir: data, label: "last \(days) days of \(symbols.count) symbols", fromMs: end - Int64(days) * 86_400_000)
        }
    }
}
