/// Technical indicators over closing prices. Plain `Double` math: they inform a direction,
/// they never size an order.
public enum Indicators {
    /// Exponential moving average; the first value seeds with the first price.
    public static func ema(_ values: [Double], period: Int) -> [Double] {
        guard !values.isEmpty, period > 0 else { return [] }
        let k = 2.0 / Double(period + 1)
        var out = [Double]()
        out.reserveCapacity(values.count)
        var prev = values[0]
        for v in values {
            prev = v * k + prev * (1 - k)
            out.append(prev)
        }
        return out
    }

    /// The last value of ``ema(_:period:)`` without building the series (the hot path of backtests).
    public static func emaLast<C: Collection>(_ values: C, period: Int) -> Double? where C.Element == Double {
        guard var prev = values.first, period > 0 else { return nil }
        let k = 2.0 / Double(period + 1)
        for v in values { prev = v * k + prev * (1 - k) }
        return prev
    }

    /// ``emaLast(_:period:)`` for two periods in one pass over slice closes, bit for bit the same
    /// values: the two chains are independent, so the CPU runs them side by side. 0 when empty.
    public static func emaLastPair(_ candles: ArraySlice<Candle>, fast: Int, slow: Int) -> (fast: Double, slow: Double) {
        guard let first = candles.first?.close else { return (0, 0) }
        let kf = 2.0 / Double(fast + 1), ks = 2.0 / Double(slow + 1)
        var f = first, s = first
        for c in candles {
            let v = c.close
            f = v * kf + f * (1 - kf)
            s = v * ks + s * (1 - ks)
        }
        return (f, s)
    }

    /// Wilder's RSI of the last value, or nil with too little data.
    public static func rsi<C: RandomAccessCollection>(_ input: C, period: Int = 14) -> Double? where C.Element == Double, C.Index == Int {
        let closes = input
        let base = closes.startIndex
        guard closes.count > period else { return nil }
        var gain = 0.0, loss = 0.0
        for i in 1...period {
            let d = closes[base + i] - closes[base + i - 1]
            if d > 0 { gain += d } else { loss -= d }
        }
        gain /= Double(period)
        loss /= Double(period)
        if closes.count > period + 1 {
            for i in (period + 1)..<closes.count {
                let d = closes[base + i] - closes[base + i - 1]
                gain = (gain * Double(period - 1) + max(d, 0)) / Double(period)
                loss = (loss * Double(period - 1) + max(-d, 0)) / Double(period)
            }
        }
        if loss == 0 { return gain == 0 ? 50 : 100 }
        return 100 - 100 / (1 + gain / loss)
    }

    /// Average true range of the last `period` bars, as a fraction of the last close.
    public static func atrFraction<C: RandomAccessCollection>(_ candles: C, period: Int = 14) -> Double? where C.Element == Candle, C.Index == Int {
        guard candles.count > period, let last = candles.last, last.close > 0 else { return nil }
        var sum = 0.0
        for i in (candles.endIndex - period)..<candles.endIndex {
            let c = candles[i], p = candles[i - 1]
            sum += max(c.high - c.low, abs(c.high - p.close), abs(c.low - p.close))
        }
        return sum / Double(period) / last.close
    }
}
