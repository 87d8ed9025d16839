/// The deterministic baseline analyst: trend from EMAs on 15m and 5m, trigger on 1m.
///
/// It needs no key and gives the same answer for the same candles, which makes backtests
/// repeatable and gives the vision analyst something to beat.
public enum RulesAnalyst {
    public static let model = "rules-v1"
    /// What `analyze` looks at of each frame (1m, 5m, 15m): the last 60 one-minute candles and
    /// the trend's 120 closes; more candles give the same answer.
    public static let candlesPerFrame = [60, 120, 120]

    public static func analyze(m1: [Candle], m5: [Candle], m15: [Candle]) -> Signal {
        analyze(m1: m1[...], m5: m5[...], m15: m15[...])
    }

    /// The EMA(9)/EMA(21) spread of the last 120 closes, relative to the slow EMA.
    public static func trend(_ candles: ArraySlice<Candle>) -> Double {
        let (fast, slow) = Indicators.emaLastPair(candles.suffix(120), fast: 9, slow: 21)
        return trend(fast: fast, slow: slow)
    }

    /// The same analysis on slices, allocating nothing but the answer (backtests call it per cycle).
    /// `trend15` is ``trend(_:)`` of `m15` when the caller already has it (it changes every 15 minutes).
    /// Without a rationale, each figure is computed only when the answer still depends on it.
    public static func analyze(m1: ArraySlice<Candle>, m5: ArraySlice<Candle>, m15: ArraySlice<Candle>, withRationale: Bool = true,
                               trend15: Double? = nil) -> Signal {
        guard m15.count >= 30, m5.count >= 30, m1.count >= 30 else {
            return Signal(direction: .none, confidence: 0, rationale: "not enough candles", model: model)
        }
        let t15 = trend15 ?? trend(m15)
        let window = m1.suffix(60)
        let last = window.last?.close ?? 0
        if !withRationale {
            let closes1 = ClosesView(candles: window)
            return decide(trend15: t15, trend5: { trend(m5) }, last: last,
                          ema1: { Indicators.emaLast(closes1, period: 9) ?? 0 }, rsi1: { Indicators.rsi(closes1) ?? 50 },
                          atr5: { Indicators.atrFraction(m5.suffix(40)) ?? 0 })
        }
        let t5 = trend(m5)
        let closes1 = ClosesView(candles: window)
        let rsi = Indicators.rsi(closes1) ?? 50
        let ema1 = Indicators.emaLast(closes1, period: 9) ?? 0
        let atr = Indicators.atrFraction(m5.suffix(40)) ?? 0

        let up = t15 > 0 && t5 > 0 && last > ema1 && rsi > 50 && rsi < 75
        let down = t15 < 0 && t5 < 0 && last < ema1 && rsi < 50 && rsi > 25
        guard up || down else {
            return Signal(direction: .none, confidence: 0.5,
                          rationale: "no alignment: trend15m \(fmt(t15 * 100))%, trend5m \(fmt(t5 * 100))%, rsi1m \(fmt(rsi))",
                          model: model)
        }
        // Confidence grows with trend strength on both frames relative to volatility.
        let strength = (abs(t15) + abs(t5)) / max(atr, 0.0005)
        let confidence = min(0.95, 0.6 + 0.1 * strength)
        return Signal(direction: up ? .long : .short, confidence: confidence,
                      rationale: "trend15m \(fmt(t15 * 100))%, trend5m \(fmt(t5 * 100))%, rsi1m \(fmt(rsi)), atr5m \(fmt(atr * 100))%",
                      model: model)
    }

    /// The answer of ``analyze(m1:m5:m15:withRationale:trend15:)`` without a rationale, from its
    /// figures, each asked for only when the answer still depends on it: the engine passes cached
    /// values (``IndicatorLanes``), `analyze` computes them over its slices; both decide here.
    @inline(__always)
    public static func decide(trend15 t15: Double, trend5: () -> Double, last: Double, ema1: () -> Double, rsi1: () -> Double,
                              atr5: () -> Double) -> Signal {
        let none = Signal(direction: .none, confidence: 0.5, rationale: "", model: model)
        guard t15 != 0 else { return none }
        let t5 = trend5()
        guard (t15 > 0 && t5 > 0) || (t15 < 0 && t5 < 0) else { return none }
        let ema1 = ema1()
        guard t15 > 0 ? last > ema1 : last < ema1 else { return none }
        let rsi = rsi1()
        guard t15 > 0 ? (rsi > 50 && rsi < 75) : (rsi < 50 && rsi > 25) else { return none }
        let atr = atr5()
        let strength = (abs(t15) + abs(t5)) / max(atr, 0.0005)
        return Signal(direction: t15 > 0 ? .long : .short, confidence: min(0.95, 0.6 + 0.1 * strength), rationale: "", model: model)
    }

    /// ``trend(_:)`` from the two EMAs of its window.
    @inline(__always)
    public static func trend(fast: Double, slow: Double) -> Double { slow > 0 ? (fast - slow) / slow : 0 }

    static func fmt(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return String(describing: scaled)
    }
}

/// Closing prices of a candle slice, indexed from 0, without copying.
struct ClosesView: RandomAccessCollection {
    let candles: ArraySlice<Candle>
    var startIndex: Int { 0 }
    var endIndex: Int { candles.count }
    subscript(i: Int) -> Double { candles[candles.startIndex + i].close }
}
