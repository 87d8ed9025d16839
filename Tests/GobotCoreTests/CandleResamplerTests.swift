import GobotCore
import Testing

/// The resampler finds a bucket only when a candle leaves the current one; it must merge exactly
/// as the per-candle bucket test did, also for gaps, out-of-order rows and times before 1970.
@Suite struct CandleResamplerTests {
    /// The implementation it replaced: a bucket computed for every candle, merged into the last
    /// output candle when equal.
    static func reference(_ candles: [Candle], to interval: Interval) -> [Candle] {
        var out: [Candle] = []
        for c in candles {
            let bucket = c.openTimeMs - ((c.openTimeMs % interval.ms) + interval.ms) % interval.ms
            if var last = out.last, last.openTimeMs == bucket {
                last.high = max(last.high, c.high)
                last.low = min(last.low, c.low)
                last.close = c.close
                last.volume += c.volume
                out[out.count - 1] = last
            } else {
                out.append(Candle(openTimeMs: bucket, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume))
            }
        }
        return out
    }

    static func series(count: Int, startMs: Int64, seed: UInt64) -> [Candle] {
        var state = seed
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var price = 100.0
        return (0..<count).map { (i: Int) -> Candle in
            let open = price, close = price * (1 + (next() - 0.5) * 0.01)
            price = close
            return Candle(openTimeMs: startMs + Int64(i) * 60_000, open: open, high: max(open, close) + next(), low: min(open, close) - next(),
                          close: close, volume: next() * 10)
        }
    }

    @Test func mergesExactlyAsABucketPerCandleDid() {
        let sorted = Self.series(count: 5_000, startMs: 1_700_000_040_000, seed: 3)
        // Gaps: every seventh candle missing.
        let gappy = sorted.enumerated().filter { $0.offset % 7 != 3 }.map(\.element)
        // Out of order: two pieces swapped, and one candle repeated further on.
        var shuffled = Array(sorted[2_000..<3_000]) + Array(sorted[0..<2_000]) + Array(sorted[3_000...])
        shuffled.insert(sorted[10], at: 4_321)
        // Before 1970 (negative times) and across zero.
        let early = Self.series(count: 600, startMs: -300 * 60_000 - 120_000, seed: 9)
        for candles in [sorted, gappy, shuffled, early, [], [sorted[0]]] {
            for interval in [Interval.m1, .m5, .m15] {
                #expect(CandleResampler.resample(candles, to: interval) == Self.reference(candles, to: interval), "\(interval) of \(candles.count)")
            }
            // The engine's one-pass 5m and 15m frames are the same bars, with their closes.
            let frames = CandleResampler.frames(candles)
            #expect(frames.m5 == Self.reference(candles, to: .m5) && frames.m15 == Self.reference(candles, to: .m15), "frames of \(candles.count)")
            #expect(frames.closes5 == frames.m5.map(\.close) && frames.closes15 == frames.m15.map(\.close))
            #expect(frames.ascending == zip(candles, candles.dropFirst()).allSatisfy { $0.openTimeMs <= $1.openTimeMs })
        }
    }
}
