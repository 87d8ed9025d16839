import Analysts
import Charts
import Foundation
import GobotCore
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
            let pngs = ["1m", "5m", "15m"].map { CandleChart.render(candles, symbol: "BTCUSDT", interval: $0) }
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

    public static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
