/// A simple line chart (the equity curve of reports and backtests).
public enum LineChart {
    public static func render(_ values: [Double], title: String, width: Int = 1024, height: Int = 400) -> [UInt8] {
        let c = PNGCanvas(width: width, height: height)
        c.color(1, 1, 1)
        c.fillRect(0, 0, Double(width), Double(height))
        let lo = values.min() ?? 0, hi = values.max() ?? 1
        let span = max(hi - lo, 1e-9)
        let top = 40.0, bottom = Double(height) - 20, left = 10.0, right = Double(width) - 90
        func y(_ v: Double) -> Double { bottom - (v - lo) / span * (bottom - top) }
        c.color(0.85, 0.85, 0.85)
        for i in 0...4 {
            let v = lo + span * Double(i) / 4
            c.line(left, y(v), right, y(v), width: 0.5)
            c.color(0.3, 0.3, 0.3)
            c.text(CandleChart.formatPrice(v), x: right + 6, y: y(v) + 4, size: 11)
            c.color(0.85, 0.85, 0.85)
        }
        c.color(0.10, 0.35, 0.75)
        let step = (right - left) / Double(max(values.count - 1, 1))
        c.polyline(values.enumerated().map { (left + Double($0.offset) * step, y($0.element)) }, width: 1.5)
        c.color(0.1, 0.1, 0.1)
        c.text(title, x: left + 4, y: 24, size: 16)
        return c.png()
    }
}
