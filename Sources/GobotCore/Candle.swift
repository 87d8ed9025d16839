/// A kline interval gobot uses, with its length.
public enum Interval: String, Sendable, CaseIterable, Equatable, Hashable {
    case m1 = "1m", m5 = "5m", m15 = "15m"

    public var ms: Int64 {
        switch self {
        case .m1: 60_000
        case .m5: 300_000
        case .m15: 900_000
        }
    }
}

/// One OHLCV bar. Prices are `Double`: candles feed indicators and charts, never order sizes.
public struct Candle: Sendable, Equatable {
    public var openTimeMs: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(openTimeMs: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.openTimeMs = openTimeMs
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    public func closeTimeMs(_ interval: Interval) -> Int64 { openTimeMs + interval.ms - 1 }
}

/// Builds longer bars from shorter ones, aligned on open time; this reproduces Binance's own
/// 5m and 15m bars exactly from 1m bars.
public enum CandleResampler {
    public static func resample(_ candles: [Candle], to interval: Interval) -> [Candle] {
        var out: [Candle] = []
        out.reserveCapacity(candles.count / Int(interval.ms / 60_000) + 1)
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
}
