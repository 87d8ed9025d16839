/// The rules analyst's windowed indicators for eight windows at once, one window per SIMD lane.
///
/// An EMA or a Wilder RSI over a window is a chain of dependent multiply-adds (and divisions):
/// one window at a time the CPU waits on each step's latency. Eight windows side by side run the
/// same operations lane by lane, so each lane performs exactly the IEEE operations the scalar
/// functions in ``Indicators`` perform on its window, in the same order: the values are bit for
/// bit those of ``Indicators/emaLastPair(_:fast:slow:)``, ``Indicators/emaLast(_:period:)`` and
/// ``Indicators/rsi(_:period:)`` (a test compares every window of the bundled real candles).
/// The backtest engine caches a block of consecutive windows and reads one per cycle.
public enum IndicatorLanes {
    public typealias Lanes = SIMD8<Double>
    public static let width = 8

    /// `emaLastPair` of the closes of `candles[ends[k] - window ..< ends[k]]` for each lane `k`.
    /// Every window must be full (`ends[k] >= window`, `ends[k] <= candles.count`).
    public static func emaPair(_ candles: [Candle], ends: SIMD8<Int>, window: Int, fast: Int, slow: Int) -> (fast: Lanes, slow: Lanes) {
        let kf = 2.0 / Double(fast + 1), ks = 2.0 / Double(slow + 1)
        let kf1 = Lanes(repeating: 1 - kf), ks1 = Lanes(repeating: 1 - ks), kfv = Lanes(repeating: kf), ksv = Lanes(repeating: ks)
        return candles.withUnsafeBufferPointer { c in
            let starts = ends &- SIMD8<Int>(repeating: window)
            var f = closes(c, starts), s = f
            for j in 0..<window {
                let v = closes(c, starts &+ SIMD8<Int>(repeating: j))
                f = v * kfv + f * kf1
                s = v * ksv + s * ks1
            }
            return (f, s)
        }
    }

    /// `emaLast(period:)` and `rsi(period: 14)` of the closes of `candles[ends[k] - window ..< ends[k]]`
    /// (RSI NaN-free only when `window > 14`; every window must be full).
    public static func emaAndRSI(_ candles: [Candle], ends: SIMD8<Int>, window: Int, emaPeriod: Int, rsiPeriod: Int = 14) -> (ema: Lanes, rsi: Lanes) {
        precondition(window > rsiPeriod)
        let k = 2.0 / Double(emaPeriod + 1)
        let kv = Lanes(repeating: k), k1 = Lanes(repeating: 1 - k)
        let p = Lanes(repeating: Double(rsiPeriod)), p1 = Lanes(repeating: Double(rsiPeriod - 1))
        let zero = Lanes(repeating: 0)
        return candles.withUnsafeBufferPointer { c in
            let starts = ends &- SIMD8<Int>(repeating: window)
            var prev = closes(c, starts)
            var e = prev
            var gain = zero, loss = zero
            // emaLast folds every close, the first included; RSI starts from the first difference.
            e = prev * kv + e * k1
            for j in 1..<window {
                let v = closes(c, starts &+ SIMD8<Int>(repeating: j))
                e = v * kv + e * k1
                let d = v - prev
                if j <= rsiPeriod {
                    gain += d.replacing(with: 0, where: d .<= 0)
                    loss -= d.replacing(with: 0, where: d .> 0)
                    if j == rsiPeriod {
                        gain /= p
                        loss /= p
                    }
                } else {
                    let up = d.replacing(with: 0, where: d .<= 0)
                    let nd = -d
                    let down = nd.replacing(with: 0, where: nd .<= 0)
                    gain = (gain * p1 + up) / p
                    loss = (loss * p1 + down) / p
                }
                prev = v
            }
            var rsi = zero
            for lane in 0..<width {
                rsi[lane] = loss[lane] == 0 ? (gain[lane] == 0 ? 50 : 100) : 100 - 100 / (1 + gain[lane] / loss[lane])
            }
            return (e, rsi)
        }
    }

    @inline(__always)
    static func closes(_ c: UnsafeBufferPointer<Candle>, _ at: SIMD8<Int>) -> Lanes {
        Lanes(c[at[0]].close, c[at[1]].close, c[at[2]].close, c[at[3]].close,
              c[at[4]].close, c[at[5]].close, c[at[6]].close, c[at[7]].close)
    }
}

extension IndicatorLanes {
    /// The figures of eight windows that end `stride` candles apart, computed together on the
    /// first request and then read one per cycle (the engine asks for windows in time order).
    public struct Block: Sendable {
        public enum Kind: Sendable {
            /// `emaLastPair(fast:slow:)` of the last `window` closes.
            case emaPair(window: Int, fast: Int, slow: Int)
            /// `emaLast(period:)` and `rsi()` of the last `window` closes.
            case emaRSI(window: Int, emaPeriod: Int)
        }

        public let kind: Kind
        public let stride: Int
        var first = -1, valid = 0
        var a = Lanes(), b = Lanes()

        public init(_ kind: Kind, stride: Int) {
            self.kind = kind
            self.stride = stride
        }

        var window: Int {
            switch kind {
            case .emaPair(let w, _, _), .emaRSI(let w, _): return w
            }
        }

        /// The two figures of the window `candles[end - window ..< end]`; nil when that window is
        /// not full (the caller computes the shorter window itself).
        @inline(__always)
        public mutating func values(_ candles: [Candle], end: Int) -> (Double, Double)? {
            let d = end - first
            if first >= 0, d >= 0, d % stride == 0, d / stride < valid { return (a[d / stride], b[d / stride]) }
            return compute(candles, end: end)
        }

        mutating func compute(_ candles: [Candle], end: Int) -> (Double, Double)? {
            guard end >= window, end <= candles.count else { return nil }
            var ends = SIMD8<Int>(repeating: end)
            valid = 1
            for k in 1..<width where end + k * stride <= candles.count {
                ends[k] = end + k * stride
                valid = k + 1
            }
            first = end
            switch kind {
            case .emaPair(let w, let fast, let slow): (a, b) = emaPair(candles, ends: ends, window: w, fast: fast, slow: slow)
            case .emaRSI(let w, let period): (a, b) = emaAndRSI(candles, ends: ends, window: w, emaPeriod: period)
            }
            return (a[0], b[0])
        }
    }
}
