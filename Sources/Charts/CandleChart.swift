import Dispatch
import GobotCore

/// Candlestick chart: candles, a volume pane, EMA 9/21 lines, a right-hand price axis, and the
/// symbol, timeframe and last close in the title. Same candles in, same bytes out.
public enum CandleChart {
    public static let width = 1024, height = 640
    static let left = 10.0, right = 80.0, top = 36.0, volumeHeight = 110.0, bottom = 14.0

    /// Where a candle's body and wick are drawn; exposed so tests can check geometry.
    public struct Layout: Sendable, Equatable {
        public var minPrice: Double
        public var maxPrice: Double
        public var slot: Double
        public var priceTop: Double
        public var priceBottom: Double

        public func y(_ price: Double) -> Double {
            priceBottom - (price - minPrice) / max(maxPrice - minPrice, 1e-12) * (priceBottom - priceTop)
        }
        public func x(_ index: Int) -> Double { CandleChart.left + (Double(index) + 0.5) * slot }
    }

    public static func layout(_ candles: [Candle]) -> Layout {
        let lo = candles.map(\.low).min() ?? 0, hi = candles.map(\.high).max() ?? 1
        let pad = (hi - lo) * 0.05
        let plotWidth = Double(width) - left - right
        return Layout(minPrice: lo - pad, maxPrice: hi + pad, slot: plotWidth / Double(max(candles.count, 1)),
                      priceTop: top, priceBottom: Double(height) - bottom - volumeHeight - 10)
    }

    public static func render(_ candles: [Candle], symbol: String, interval: String) -> [UInt8] {
        draw(candles, symbol: symbol, interval: interval).png()
    }

    /// Draws without encoding; `render` adds the PNG encoding.
    static func draw(_ candles: [Candle], symbol: String, interval: String) -> PNGCanvas {
        let c = PNGCanvas(width: width, height: height)
        c.color(0.07, 0.08, 0.10)
        c.fillRect(0, 0, Double(width), Double(height))
        let l = layout(candles)
        // Grid and right-hand price axis.
        c.color(0.25, 0.27, 0.30)
        for i in 0...5 {
            let price = l.minPrice + (l.maxPrice - l.minPrice) * Double(i) / 5
            let y = l.y(price)
            c.line(left, y, Double(width) - right, y, width: 0.5)
            c.color(0.75, 0.77, 0.80)
            c.text(formatPrice(price), x: Double(width) - right + 6, y: y + 4, size: 11)
            c.color(0.25, 0.27, 0.30)
        }
        // Volume pane.
        let volTop = Double(height) - bottom - volumeHeight
        let maxVol = candles.map(\.volume).max() ?? 1
        for (i, k) in candles.enumerated() {
            let h = k.volume / max(maxVol, 1e-12) * volumeHeight
            k.close >= k.open ? c.color(0.15, 0.45, 0.35) : c.color(0.55, 0.22, 0.22)
            c.fillRect(l.x(i) - l.slot * 0.35, volTop + volumeHeight - h, l.slot * 0.7, h)
        }
        // Candles.
        for (i, k) in candles.enumerated() {
            k.close >= k.open ? c.color(0.16, 0.75, 0.55) : c.color(0.92, 0.32, 0.32)
            c.line(l.x(i), l.y(k.high), l.x(i), l.y(k.low), width: 1)
            let yTop = l.y(max(k.open, k.close)), yBottom = l.y(min(k.open, k.close))
            c.fillRect(l.x(i) - l.slot * 0.35, yTop, l.slot * 0.7, max(yBottom - yTop, 1))
        }
        // EMA lines.
        let closes = candles.map(\.close)
        for (period, rgb) in [(9, (0.95, 0.75, 0.25)), (21, (0.40, 0.60, 0.95))] {
            let ema = Indicators.ema(closes, period: period)
            c.color(rgb.0, rgb.1, rgb.2)
            c.polyline(ema.enumerated().map { (l.x($0.offset), l.y($0.element)) }, width: 1.5)
        }
        c.color(0.92, 0.93, 0.95)
        c.text("\(symbol) \(interval)  last \(formatPrice(candles.last?.close ?? 0))  EMA9/EMA21", x: left + 4, y: 24, size: 16)
        return c
    }

    public static func formatPrice(_ p: Double) -> String {
        let decimals = p >= 1000 ? 1 : p >= 10 ? 2 : p >= 1 ? 3 : 5
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let v = (p * scale).rounded() / scale
        var s = String(v)
        if let dot = s.firstIndex(of: ".") {
            let have = s.distance(from: dot, to: s.endIndex) - 1
            if have < decimals { s += String(repeating: "0", count: decimals - have) }
        }
        return s
    }
}

extension CandleChart {
    /// Milliseconds spent drawing versus encoding one chart, for `gobot bench`.
    public static func profile(_ candles: [Candle]) -> (drawMs: Double, encodeMs: Double) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let canvas = draw(candles, symbol: "BTCUSDT", interval: "1m")
        let t1 = DispatchTime.now().uptimeNanoseconds
        _ = canvas.png()
        let t2 = DispatchTime.now().uptimeNanoseconds
        return (Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6)
    }
}
