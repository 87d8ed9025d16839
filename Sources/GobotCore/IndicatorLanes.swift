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
        candles.withUnsafeBufferPointer { c in
            emaPair(GatheredCandles(c: c, starts: ends &- SIMD8<Int>(repeating: window)), window: window, fast: fast, slow: slow)
        }
    }

    /// `emaLast(period:)` and `rsi(period: 14)` of the closes of `candles[ends[k] - window ..< ends[k]]`
    /// (RSI NaN-free only when `window > 14`; every window must be full).
    public static func emaAndRSI(_ candles: [Candle], ends: SIMD8<Int>, window: Int, emaPeriod: Int, rsiPeriod: Int = 14) -> (ema: Lanes, rsi: Lanes) {
        candles.withUnsafeBufferPointer { c in
            emaAndRSI(GatheredCandles(c: c, starts: ends &- SIMD8<Int>(repeating: window)), window: window, emaPeriod: emaPeriod, rsiPeriod: rsiPeriod)
        }
    }

    /// The kernels, over any way of loading the eight lanes' `j`-th close: the arithmetic is the
    /// same whatever the source, so every source gives the same bits.
    @inline(__always)
    static func emaPair<S: LaneSource>(_ src: S, window: Int, fast: Int, slow: Int) -> (fast: Lanes, slow: Lanes) {
        let kf = 2.0 / Double(fast + 1), ks = 2.0 / Double(slow + 1)
        let kf1 = Lanes(repeating: 1 - kf), ks1 = Lanes(repeating: 1 - ks), kfv = Lanes(repeating: kf), ksv = Lanes(repeating: ks)
        var f = src.lanes(0), s = f
        for j in 0..<window {
            let v = src.lanes(j)
            f = v * kfv + f * kf1
            s = v * ksv + s * ks1
        }
        return (f, s)
    }

    @inline(__always)
    static func emaAndRSI<S: LaneSource>(_ src: S, window: Int, emaPeriod: Int, rsiPeriod: Int = 14) -> (ema: Lanes, rsi: Lanes) {
        precondition(window > rsiPeriod)
        let k = 2.0 / Double(emaPeriod + 1)
        let kv = Lanes(repeating: k), k1 = Lanes(repeating: 1 - k)
        let p = Lanes(repeating: Double(rsiPeriod)), p1 = Lanes(repeating: Double(rsiPeriod - 1))
        let zero = Lanes(repeating: 0)
        var prev = src.lanes(0)
        var e = prev
        var gain = zero, loss = zero
        // emaLast folds every close, the first included; RSI starts from the first difference.
        e = prev * kv + e * k1
        for j in 1...rsiPeriod {
            let v = src.lanes(j)
            e = v * kv + e * k1
            let d = v - prev
            gain += d.replacing(with: 0, where: d .<= 0)
            loss -= d.replacing(with: 0, where: d .> 0)
            prev = v
        }
        gain /= p
        loss /= p
        for j in (rsiPeriod + 1)..<window {
            let v = src.lanes(j)
            e = v * kv + e * k1
            let d = v - prev
            let up = d.replacing(with: 0, where: d .<= 0)
            let nd = -d
            let down = nd.replacing(with: 0, where: nd .<= 0)
            gain = (gain * p1 + up) / p
            loss = (loss * p1 + down) / p
            prev = v
        }
        var rsi = zero
        for lane in 0..<width {
            rsi[lane] = loss[lane] == 0 ? (gain[lane] == 0 ? 50 : 100) : 100 - 100 / (1 + gain[lane] / loss[lane])
        }
        return (e, rsi)
    }

    @inline(__always)
    static func closes(_ c: UnsafeBufferPointer<Candle>, _ at: SIMD8<Int>) -> Lanes {
        Lanes(c[at[0]].close, c[at[1]].close, c[at[2]].close, c[at[3]].close,
              c[at[4]].close, c[at[5]].close, c[at[6]].close, c[at[7]].close)
    }
}

/// Loads the `j`-th close of each of the eight windows.
protocol LaneSource {
    func lanes(_ j: Int) -> IndicatorLanes.Lanes
}

/// Windows anywhere in a candle array.
struct GatheredCandles: LaneSource {
    let c: UnsafeBufferPointer<Candle>
    let starts: SIMD8<Int>
    @inline(__always) func lanes(_ j: Int) -> IndicatorLanes.Lanes { IndicatorLanes.closes(c, starts &+ SIMD8<Int>(repeating: j)) }
}

/// Windows starting `s` candles apart in a candle array.
struct StridedCandles: LaneSource {
    let p: UnsafePointer<Candle>
    let s: Int
    @inline(__always) func lanes(_ j: Int) -> IndicatorLanes.Lanes {
        let q = p + j
        return IndicatorLanes.Lanes(q[0].close, q[s].close, q[2 * s].close, q[3 * s].close, q[4 * s].close, q[5 * s].close, q[6 * s].close, q[7 * s].close)
    }
}

/// Windows starting one close apart in an array of closes: one vector load per step.
struct ContiguousCloses: LaneSource {
    let p: UnsafePointer<Double>
    @inline(__always) func lanes(_ j: Int) -> IndicatorLanes.Lanes { UnsafeRawPointer(p + j).loadUnaligned(as: IndicatorLanes.Lanes.self) }
}

/// Windows starting `s` closes apart in an array of closes.
struct StridedCloses: LaneSource {
    let p: UnsafePointer<Double>
    let s: Int
    @inline(__always) func lanes(_ j: Int) -> IndicatorLanes.Lanes {
        let q = p + j
        return IndicatorLanes.Lanes(q[0], q[s], q[2 * s], q[3 * s], q[4 * s], q[5 * s], q[6 * s], q[7 * s])
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

        /// The same from an array of the closes (the engine keeps one per series): the eight
        /// windows are read with vector or strided loads instead of gathering from candles.
        @inline(__always)
        public mutating func values(closes: [Double], end: Int) -> (Double, Double)? {
            let d = end - first
            if first >= 0, d >= 0, d % stride == 0, d / stride < valid { return (a[d / stride], b[d / stride]) }
            return compute(closes: closes, end: end)
        }

        /// The ends of the (up to eight) windows computed from `end` on, in a series of `count`;
        /// sets how many are valid and the first.
        mutating func laneEnds(end: Int, count: Int) -> SIMD8<Int> {
            var ends = SIMD8<Int>(repeating: end)
            valid = 1
            for k in 1..<width where end + k * stride <= count {
                ends[k] = end + k * stride
                valid = k + 1
            }
            first = end
            return ends
        }

        mutating func compute(closes: [Double], end: Int) -> (Double, Double)? {
            guard end >= window, end <= closes.count else { return nil }
            guard end + (width - 1) * stride <= closes.count else {
                // Near the end of the series: fewer than eight windows, the candle path's layout.
                let ends = laneEnds(end: end, count: closes.count)
                let starts = ends &- SIMD8<Int>(repeating: window)
                closes.withUnsafeBufferPointer { c in
                    let src = StridedCloses(p: c.baseAddress!, s: 0)
                    var lanes = Lanes(), lanesB = Lanes()
                    for k in 0..<width {
                        let one = StridedCloses(p: src.p + starts[k], s: 0)
                        switch kind {
                        case .emaPair(let w, let fast, let slow): let r = emaPair(one, window: w, fast: fast, slow: slow); lanes[k] = r.fast[0]; lanesB[k] = r.slow[0]
                        case .emaRSI(let w, let period): let r = emaAndRSI(one, window: w, emaPeriod: period); lanes[k] = r.ema[0]; lanesB[k] = r.rsi[0]
                        }
                    }
                    (a, b) = (lanes, lanesB)
                }
                return (a[0], b[0])
            }
            valid = width
            first = end
            closes.withUnsafeBufferPointer { c in
                let start = c.baseAddress! + (end - window)
                switch (kind, stride) {
                case (.emaPair(let w, let fast, let slow), 1): (a, b) = emaPair(ContiguousCloses(p: start), window: w, fast: fast, slow: slow)
                case (.emaPair(let w, let fast, let slow), _): (a, b) = emaPair(StridedCloses(p: start, s: stride), window: w, fast: fast, slow: slow)
                case (.emaRSI(let w, let period), 1): (a, b) = emaAndRSI(ContiguousCloses(p: start), window: w, emaPeriod: period)
                case (.emaRSI(let w, let period), _): (a, b) = emaAndRSI(StridedCloses(p: start, s: stride), window: w, emaPeriod: period)
                }
            }
            return (a[0], b[0])
        }

        mutating func compute(_ candles: [Candle], end: Int) -> (Double, Double)? {
            guard end >= window, end <= candles.count else { return nil }
            let ends = laneEnds(end: end, count: candles.count)
            if valid == width {
                // All eight windows inside the series: fixed strides from one base, no index vector.
                candles.withUnsafeBufferPointer { c in
                    let src = StridedCandles(p: c.baseAddress! + (end - window), s: stride)
                    switch kind {
                    case .emaPair(let w, let fast, let slow): (a, b) = emaPair(src, window: w, fast: fast, slow: slow)
                    case .emaRSI(let w, let period): (a, b) = emaAndRSI(src, window: w, emaPeriod: period)
                    }
                }
                return (a[0], b[0])
            }
            switch kind {
            case .emaPair(let w, let fast, let slow): (a, b) = emaPair(candles, ends: ends, window: w, fast: fast, slow: slow)
            case .emaRSI(let w, let period): (a, b) = emaAndRSI(candles, ends: ends, window: w, emaPeriod: period)
            }
            return (a[0], b[0])
        }
    }
}
