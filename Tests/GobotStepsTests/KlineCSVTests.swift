import Foundation
import GobotCore
import PaperExchange
import Testing

/// The byte parser must give exactly the Doubles `Double(String)` gives, row for row.
@Suite struct KlineCSVTests {
    static let sample = BacktestTests.sample

    /// The reader it replaced: a String per line, split, trim, `Double(String)`.
    static func reference(_ text: String) -> [Candle] {
        var out: [Candle] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.count < 2 || (n == 0 && line.hasPrefix("open_time")) { continue }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).prefix(6)
                .map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
            out.append(Candle(openTimeMs: Int64(f[0]), open: f[1], high: f[2], low: f[3], close: f[4], volume: f[5]))
        }
        return out
    }

    static func bits(_ c: [Candle]) -> [[UInt64]] {
        c.map { [UInt64(bitPattern: $0.openTimeMs), $0.open.bitPattern, $0.high.bitPattern, $0.low.bitPattern, $0.close.bitPattern, $0.volume.bitPattern] }
    }

    static func parse(_ text: String) throws -> [Candle] {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { try KlineCSV.parse(UnsafeBufferPointer($0), file: "t.csv") }
    }

    @Test func realFilesParseBitForBitAsDoubleOfString() throws {
        var rows = 0
        for symbol in ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"] {
            let path = "\(Self.sample)/klines/\(symbol)-1m.csv"
            let fast = try ReplayData.parseKlines(path: path)
            let slow = Self.reference(try String(contentsOfFile: path, encoding: .utf8))
            #expect(fast.count == 10_080)
            #expect(Self.bits(fast) == Self.bits(slow), "\(symbol)")
            rows += fast.count
        }
        #expect(rows == 4 * 10_080)
    }

    @Test func randomDecimalsMatchDoubleOfString() throws {
        var state: UInt64 = 7
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        var text = "open_time_ms,open,high,low,close,volume\n"
        for i in 0..<20_000 {
            var fields = ["\(1_700_000_000_000 + i * 60_000)"]
            for _ in 0..<5 {
                let intDigits = Int(next(12)), fracDigits = Int(next(12))
                var s = next(8) == 0 ? "-" : ""
                s += intDigits == 0 ? "0" : (0..<intDigits).map { k in String(k == 0 ? 1 + next(9) : next(10)) }.joined()
                if fracDigits > 0 { s += "." + (0..<fracDigits).map { _ in String(next(10)) }.joined() }
                fields.append(s)
            }
            text += fields.joined(separator: ",") + "\n"
        }
        #expect(Self.bits(try Self.parse(text)) == Self.bits(Self.reference(text)))
    }

    @Test func unusualShapesFallBackToDoubleOfString() throws {
        let text = "open_time_ms,open,high,low,close,volume\r\n"
            + "1000, 1.5e3 ,2E-2,-0.000123,12345678901234567890.5,.5\r\n"
            + "\n"
            + "2000,5.,0.1234567890123456789,7,8,9,extra,columns\n"
            + "3000.0,1,2,3,4,5"
        let fast = try Self.parse(text)
        #expect(fast.count == 3)
        #expect(Self.bits(fast) == Self.bits(Self.reference(text.replacingOccurrences(of: "\r", with: ""))))
        #expect(fast[0].open == 1500 && fast[0].high == 0.02 && fast[2].openTimeMs == 3000)
    }

    /// The one-pass reader hands any row it does not take whole to the careful one, at that row's
    /// start: rows on both sides of such a row, and the row itself, read as `Double(String)` reads them.
    @Test func rowsAroundOneTheFastReaderDeclinesReadTheSame() throws {
        let text = "open_time_ms,open,high,low,close,volume\n"
            + "1000,1.25,2,0.5,1,10\n"
            + "2000,+1.5,2,1,1.5,3\r\n"
            + "3000,1,2,1,1,12345678901234567890\n"
            + "4000,1,2,1,1,4,9\n"
            + "5000,-0.000001,2,1,1, 7\n"
            + "6000,1,2,1,1\n"
            + "7000,1,2,1,1,0.12345678901234567890123\n"
            + "8000,3,4,2,3,5"
        let fast = try Self.parse(text)
        #expect(fast.map(\.openTimeMs) == [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000])
        let reference = Self.reference(text.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "6000,1,2,1,1\n", with: "6000,1,2,1,1,0\n"))
        #expect(Self.bits(fast) == Self.bits(reference))
        #expect(fast[5].volume == 0 && fast[1].open == 1.5 && fast[2].volume == 12345678901234567890)
        // A row the fast reader starts on and gives up at its very end is still named, with its line.
        #expect(throws: KlineCSV.ParseError.badLine(file: "t.csv", line: 3, text: "2000,1,2,3,4,5x")) {
            try Self.parse("open_time_ms,open,high,low,close,volume\n1000,1,2,3,4,5\n2000,1,2,3,4,5x\n3000,1,2,3,4,5\n")
        }
    }

    @Test func aBadRowIsNamedByFileAndLine() throws {
        #expect(throws: KlineCSV.ParseError.badLine(file: "t.csv", line: 3, text: "2000,1,2,x,4,5")) {
            try Self.parse("open_time_ms,open,high,low,close,volume\n1000,1,2,3,4,5\n2000,1,2,x,4,5\n")
        }
        #expect(throws: KlineCSV.ParseError.self) { try Self.parse("1000,1,2,3\n") }
        // A mark-price row has no volume: five columns read, with volume 0.
        #expect(try Self.parse("1000,1,2,3,4\n") == [Candle(openTimeMs: 1000, open: 1, high: 2, low: 3, close: 4, volume: 0)])
    }

    @Test func aWindowReadsOnlyItsRowsAndEqualsTheFilteredWholeFile() throws {
        let path = "\(Self.sample)/klines/XRPUSDT-1m.csv"
        let all = try ReplayData.parseKlines(path: path)
        for (from, to) in [(all[0].openTimeMs, all[5].openTimeMs), (all[100].openTimeMs + 1, all[2000].openTimeMs + 30_000),
                           (0, all[3].openTimeMs + 60_000), (all.last!.openTimeMs, Int64.max), (all.last!.openTimeMs + 1, Int64.max)] {
            let window = try ReplayData.parseKlines(path: path, fromMs: from, toMs: to)
            #expect(window == all.filter { $0.openTimeMs >= from && $0.openTimeMs + 60_000 <= to })
        }
    }
}

/// A paper replay step reads a window of the file; it must see what the whole file would show.
@Suite struct ReplayFilesTests {
    @Test func answersExactlyAsTheWholeFileMarket() async throws {
        let dir = BacktestTests.sample
        let whole = try ReplayData.load(dir: dir), files = try ReplayFiles(dir: dir)
        #expect(files.symbols() == whole.symbols())
        let c = whole.series["BNBUSDT"]!
        var t = c[0].openTimeMs - 3_600_000
        var checked = 0
        while t < c.last!.openTimeMs + 7_200_000 {
            for s in ["BNBUSDT", "XRPUSDT"] {
                #expect(try await files.price(symbol: s, atMs: t) == whole.price(symbol: s, atMs: t))
                #expect(try await files.candles1m(symbol: s, fromMs: t - 7_000_000, toMs: t) == whole.candles1m(symbol: s, fromMs: t - 7_000_000, toMs: t))
                for interval in Interval.allCases {
                    for limit in [1, 60, 150] {
                        #expect(try await files.klines(symbol: s, interval: interval, startMs: nil, limit: limit, nowMs: t)
                                == whole.klines(symbol: s, interval: interval, startMs: nil, limit: limit, nowMs: t))
                        #expect(try await files.klines(symbol: s, interval: interval, startMs: t - 150 * interval.ms + 7, limit: limit, nowMs: t)
                                == whole.klines(symbol: s, interval: interval, startMs: t - 150 * interval.ms + 7, limit: limit, nowMs: t))
                    }
                }
                checked += 1
            }
            t += 3_600_000 * 7 + 60_000 * 13 + 17
        }
        #expect(checked > 40)
        #expect(try await files.fundingRate(symbol: "BNBUSDT", fundingTimeMs: 1_747_728_000_000) == whole.fundingRate(symbol: "BNBUSDT", fundingTimeMs: 1_747_728_000_000))
    }

    /// Paper replays (`exchange.paper_data_dir`) read mark prices window by window too, so their
    /// stops trigger on the mark price as the backtest's do. The mark file here is derived from
    /// the real BNBUSDT candles (the project bundles no real 1m mark-price history), written in
    /// the 5-column layout `gobot data download` writes, with one minute left out.
    @Test func markPricesAnswerExactlyAsTheWholeFileMarket() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("marks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["klines", "markprice"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
        let source = "\(BacktestTests.sample)/klines/BNBUSDT-1m.csv"
        try FileManager.default.copyItem(atPath: source, toPath: "\(dir)/klines/BNBUSDT-1m.csv")
        let candles = try ReplayData.parseKlines(path: source)
        var text = "open_time_ms,open,high,low,close\n"
        for (i, c) in candles.enumerated() where i != 500 {
            text += "\(c.openTimeMs),\(c.open * 1.0003),\(c.high * 1.0003),\(c.low * 1.0003),\(c.close * 1.0003)\n"
        }
        try text.write(toFile: "\(dir)/markprice/BNBUSDT-1m.csv", atomically: true, encoding: .utf8)
        let whole = try ReplayData.load(dir: dir), files = try ReplayFiles(dir: dir)
        #expect(whole.triggerPriceSource == .markPrice)
        var t = candles[0].openTimeMs + 17, checked = 0
        while t < candles.last!.openTimeMs {
            let marks = try await files.markCandles1m(symbol: "BNBUSDT", fromMs: t - 3_600_000, toMs: t)
            #expect(marks == (try await whole.markCandles1m(symbol: "BNBUSDT", fromMs: t - 3_600_000, toMs: t)))
            if t > candles[0].openTimeMs + 3_600_000 { #expect(!marks.isEmpty) }
            let aligned = t / 60_000 * 60_000 + 60_000
            #expect(try await files.markPrice(symbol: "BNBUSDT", atMs: aligned) == (try await whole.markPrice(symbol: "BNBUSDT", atMs: aligned)))
            #expect(try await files.markPrice(symbol: "BNBUSDT", atMs: aligned) != (try await files.price(symbol: "BNBUSDT", atMs: aligned)))
            checked += 1
            t += 3_600_000 * 5 + 60_000 * 7
        }
        #expect(checked > 25)
    }
}
