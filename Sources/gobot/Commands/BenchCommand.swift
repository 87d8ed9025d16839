import ArgumentParser
import BinanceFutures
import Charts
import Foundation
import GobotCore
import GobotSteps
import PaperExchange

extension Gobot {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print speed figures: chart rendering and the backtest pipeline.")
        @Option(help: "Days of synthetic 1m candles (one symbol) for the pipeline benchmark.") var days: Int = 30
        @Flag(help: "Charts only.") var chartsOnly = false
        @Flag(help: "Skip the (slow) step pipeline; run the in-memory engine only.") var engineOnly = false

        func validate() throws {
            guard (1...366).contains(days) else { throw ValidationError("--days must be between 1 and 366, got \(days).") }
        }

        func run() async throws {
            let c = Benchmarks.charts()
            print(String(format: "charts: 3 charts (1024x640, 120 candles) in %.2f ms best, %.2f ms mean, %d PNG bytes (target < 30 ms)", c.bestMs, c.meanMs, c.bytes))
            let split = CandleChart.profile(Benchmarks.synthetic(count: 120, startMs: 0))
            print(String(format: "charts: one chart = %.2f ms drawing + %.2f ms PNG encoding", split.drawMs, split.encodeMs))
            if chartsOnly { return }
            let start: Int64 = 1_735_689_600_000  // 2025-01-01
            let candles = Benchmarks.synthetic(count: days * 1440, startMs: start)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: "\(dir)/klines", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var csv = "open_time_ms,open,high,low,close,volume\n"
            for k in candles { csv += "\(k.openTimeMs),\(k.open),\(k.high),\(k.low),\(k.close),\(k.volume)\n" }
            try csv.write(toFile: "\(dir)/klines/XRPUSDT-1m.csv", atomically: true, encoding: .utf8)
            let info = #"{"rateLimits":[],"symbols":[{"symbol":"XRPUSDT","status":"TRADING","contractType":"PERPETUAL","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.0001"},{"filterType":"LOT_SIZE","stepSize":"0.1","minQty":"0.1"},{"filterType":"MIN_NOTIONAL","notional":"5"}]}]}"#
            try info.write(toFile: "\(dir)/exchangeInfo.json", atomically: true, encoding: .utf8)
            let infoRules = try ExchangeInfoDecoder.decode(Data(info.utf8)).rules
            // Best of three runs: the first also pays page faults for the candle arrays.
            var es = Double.infinity
            var engine = CoreBacktest.Result(trades: [], ledgerNet: 0, ledgerFees: 0, ledgerFunding: 0, equity: [], candles: 0, cycles: 0)
            for _ in 0..<3 {
                let e0 = DispatchTime.now().uptimeNanoseconds
                engine = CoreBacktest(config: GobotConfig(), series: ["XRPUSDT": candles], funding: [:], rules: infoRules).run()
                es = min(es, Double(DispatchTime.now().uptimeNanoseconds - e0) / 1e9)
            }
            print(String(format: "engine: %d 1m candles (%d days, same cycle and rules, in memory, best of 3) in %.3f s = %.0f candles/s (target > 1.2 M/s), %d trades, net %@ USD; peak RSS %.1f MB",
                         engine.candles, days, es, Double(engine.candles) / es, engine.trades.count, "\(engine.ledgerNet.rounded(scale: 4))",
                         Benchmarks.peakRSSMegabytes()))
            print("engine: gate rejections of confident signals: \(engine.rejections.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
            if engineOnly { return }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try await Backtest.run(config: GobotConfig(), options: .init(dataDir: dir, exchangeInfoPath: "\(dir)/exchangeInfo.json"))
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            print(String(format: "pipeline: %d 1m candles (%d days, scan→analyze→trade→reconcile every 5 min, rules analyst, paper exchange) in %.2f s = %.0f candles/s, %d trades; peak RSS %.1f MB",
                         r.candles, days, s, Double(r.candles) / s, r.closed.count, Benchmarks.peakRSSMegabytes()))
        }
    }
}
