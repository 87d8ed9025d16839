import Analysts
import Charts
import Foundation
import GobotCore
import PaperExchange
#if canImport(Glibc)
import Glibc
#endif

/// Speed figures printed by `gobot bench`. Timing lives here, never in tests.
public enum Benchmarks {
    /// Milliseconds to render the three analyst charts (120 candles each), best of `runs` after a warm-up.
    public static func charts(runs: Int = 20) -> (bestMs: Double, meanMs: Double, bytes: Int) {
        let candles = synthetic(count: 120, startMs: 0)
        var times: [Double] = []
        var bytes = 0
        for i in 0...runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let pngs = ChartOutput.render(ChartSet(symbol: "BTCUSDT", m1: candles, m5: candles, m15: candles))
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if i > 0 { times.append(ms) }  // the first run warms fonts and caches
            bytes = pngs.reduce(0) { $0 + $1.count }
        }
        return (times.min() ?? 0, times.reduce(0, +) / Double(max(times.count, 1)), bytes)
    }

    /// A deterministic random walk of 1m candles (for when no real history is long enough).
    public static func synthetic(count: Int, startMs: Int64, startPrice: Double = 2.0, seed: UInt64 = 42) -> [Candle] {
        var state = seed
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var price = startPrice
        var out: [Candle] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let open = price
            let close = max(0.01, open * (1 + (next() - 0.5) * 0.003))
            let high = max(open, close) * (1 + next() * 0.001), low = min(open, close) * (1 - next() * 0.001)
            out.append(Candle(openTimeMs: startMs + Int64(i) * 60_000, open: open, high: high, low: low, close: close, volume: 1000 + next() * 500))
            price = close
        }
        return out
    }

    /// Candles rounded to a 0.0001 tick and 0.1 volume, as exchanges write them (a random walk's
    /// full-precision doubles would be unlike any real file).
    public static func syntheticOnTicks(count: Int, startMs: Int64, seed: UInt64 = 42) -> [Candle] {
        func tick(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }
        return synthetic(count: count, startMs: startMs, seed: seed).map {
            Candle(openTimeMs: $0.openTimeMs, open: tick($0.open), high: tick($0.high), low: tick($0.low), close: tick($0.close),
                   volume: ($0.volume * 10).rounded() / 10)
        }
    }

    /// Writes candles in the kline CSV layout with fixed decimals, without a String per number.
    public static func writeKlines(_ candles: [Candle], path: String, decimals: Int = 4) throws {
        var out: [UInt8] = Array("open_time_ms,open,high,low,close,volume\n".utf8)
        out.reserveCapacity(candles.count * 50)
        var scratch = [UInt8](repeating: 0, count: 24)
        func int(_ v: Int64) {
            var v = v, n = 0
            if v < 0 { out.append(45); v = -v }
            repeat { scratch[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            while n > 0 { n -= 1; out.append(scratch[n]) }
        }
        func fixed(_ x: Double, _ d: Int) {
            var scale: Int64 = 1
            for _ in 0..<d { scale *= 10 }
            let v = Int64((x * Double(scale)).rounded())
            int(v / scale)
            if d > 0 {
                out.append(46)
                var frac = abs(v % scale), digits = [UInt8](repeating: 48, count: d)
                for k in stride(from: d - 1, through: 0, by: -1) { digits[k] = UInt8(48 + frac % 10); frac /= 10 }
                out += digits
            }
        }
        for c in candles {
            int(c.openTimeMs)
            for (k, v) in [c.open, c.high, c.low, c.close, c.volume].enumerated() {
                out.append(44)
                fixed(v, k == 4 ? 1 : decimals)
            }
            out.append(10)
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }

    /// exchangeInfo for synthetic symbols priced like XRPUSDT.
    public static func exchangeInfoJSON(symbols: [String], tickSize: String = "0.0001", stepSize: String = "0.1") -> String {
        let rows = symbols.map {
            #"{"symbol":"\#($0)","status":"TRADING","contractType":"PERPETUAL","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"\#(tickSize)"},{"filterType":"LOT_SIZE","stepSize":"\#(stepSize)","minQty":"\#(stepSize)"},{"filterType":"MIN_NOTIONAL","notional":"5"}]}"#
        }
        return #"{"rateLimits":[],"symbols":["# + rows.joined(separator: ",") + "]}"
    }

    /// Seconds of the fastest of `runs` runs of `body` (the first run also pays page faults).
    public static func best<T>(of runs: Int, _ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
        var best = Double.infinity
        var value: T?
        for _ in 0..<max(runs, 1) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let v = try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            value = v
        }
        return (best, value!)
    }

    /// Wall times of repeated runs of one body: the engine's figure is the median, with the
    /// spread beside it, because on a shared VM single runs of the same work vary by 1.5x.
    public struct Timings: Sendable {
        /// Seconds of each timed run, in the order they ran.
        public var seconds: [Double]
        /// CPU seconds of the calling thread in each run: wall well above it means the run waited
        /// for a core (other processes), not that the work grew.
        public var cpuSeconds: [Double] = []
        /// Minor page faults of the calling thread in each run (first touches of fresh memory).
        public var pageFaults: [Int] = []
        public var min: Double { seconds.min() ?? 0 }
        public var max: Double { seconds.max() ?? 0 }
        /// The middle run (the mean of the two middle ones for an even count).
        public var median: Double {
            let s = seconds.sorted()
            guard !s.isEmpty else { return 0 }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    /// `runs` timed runs of `body` after one untimed warm-up run (which pays first-touch page
    /// faults and lazy initialisation), and the value of the last.
    public static func timed<T>(runs: Int, _ body: () throws -> T) rethrows -> (timings: Timings, value: T) {
        var value = try body()
        var t = Timings(seconds: [])
        for _ in 0..<max(runs, 1) {
            let f0 = threadPageFaults(), c0 = threadCPUSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
            value = try body()
            t.seconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            t.cpuSeconds.append(threadCPUSeconds() - c0)
            t.pageFaults.append(threadPageFaults() - f0)
        }
        return (t, value)
    }

    /// Minor page faults of the calling thread so far.
    static func threadPageFaults() -> Int {
        var usage = rusage()
        getrusage(1, &usage)  // RUSAGE_THREAD (glibc declares it only under _GNU_SOURCE)
        return usage.ru_minflt
    }

    /// CPU time of the calling thread so far.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Wall seconds and peak RSS (MB) of a child process, which must exit 0.
    public static func timeChild(_ executable: String, _ arguments: [String], cwd: String) throws -> (seconds: Double, peakMB: Double, stdout: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let pipe = Pipe()
        p.standardOutput = pipe
        let t0 = DispatchTime.now().uptimeNanoseconds
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)  // the largest child so far: run the biggest last
        guard p.terminationStatus == 0 else {
            throw StepError.failed("\(executable) \(arguments.joined(separator: " ")) exited \(p.terminationStatus)")
        }
        return (s, Double(usage.ru_maxrss) / 1024, String(decoding: data, as: UTF8.self))
    }

    /// Seconds of the fastest of `runs` runs of an async `body`.
    public static func bestAsync(of runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<max(runs, 1) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }

    /// What one paper cron step asks the market for: scan's new klines of each frame, the
    /// exchange's settlement of the last five minutes, and a fill price.
    public static func paperStepReads(_ market: any MarketData, symbol: String, nowMs: Int64) async throws {
        for interval in Interval.allCases {
            _ = try await market.klines(symbol: symbol, interval: interval, startMs: nowMs - 150 * interval.ms, limit: 500, nowMs: nowMs)
        }
        _ = try await market.candles1m(symbol: symbol, fromMs: nowMs - 300_000, toMs: nowMs)
        _ = try await market.price(symbol: symbol, atMs: nowMs)
    }

    public static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
