import Charts
import Foundation
import GobotCore
import Testing

@Suite struct ChartTests {
    func candles() -> [Candle] {
        (0..<120).map { i in
            let base = 100 + Double(i % 20) - (i >= 60 ? 15 : 0)
            return Candle(openTimeMs: Int64(i) * 60_000, open: base, high: base + 2, low: base - 2, close: base + (i % 2 == 0 ? 1 : -1), volume: Double(10 + i))
        }
    }

    @Test func rendersAPNGOfTheDocumentedSizeDeterministically() throws {
        let a = CandleChart.render(candles(), symbol: "BTCUSDT", interval: "1m")
        let b = CandleChart.render(candles(), symbol: "BTCUSDT", interval: "1m")
        #expect(Array(a.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR width and height, big-endian at bytes 16...23.
        let w = a[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = a[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(w == 1024 && h == 640)
        #expect(a == b)
        #expect(a != CandleChart.render(Array(candles().dropLast()), symbol: "BTCUSDT", interval: "1m"))
    }

    @Test func candleBodiesAreDrawnWherePricesSay() throws {
        let c = candles()
        let png = CandleChart.render(c, symbol: "X", interval: "1m")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-chart-\(UUID().uuidString).png").path
        try Data(png).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let image = try PNGPixels(path: path)
        let layout = CandleChart.layout(c)
        // Candle 10 is up (close 111 > open 110): its body centre is green; far above its high is background.
        let i = 10
        let x = Int(layout.x(i)), yBody = Int(layout.y((c[i].open + c[i].close) / 2))
        let body = image.rgb(x: x, y: yBody)
        #expect(body.g > 150 && body.r < 100)
        let above = image.rgb(x: x, y: Int(layout.y(c[i].high)) - 40)
        #expect(above.g < 60)
        // Candle 11 is down: red body.
        let down = image.rgb(x: Int(layout.x(11)), y: Int(layout.y((c[11].open + c[11].close) / 2)))
        #expect(down.r > 150 && down.g < 120)
    }
}
