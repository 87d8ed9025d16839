import Foundation
import GobotCore
import PaperExchange
import Testing
@testable import GobotSteps

/// `gobot data import` and `gobot data check` on files in the formats Binance and freqtrade
/// publish (Tests/Fixtures/history, cut from the real sample candles).
@Suite struct HistoryImportAndCheckTests {
    static let fixtures = "\(BacktestTests.root)/Tests/Fixtures/history"
    static func sample(_ symbol: String) throws -> [Candle] {
        try CandleCSV.parse(path: "\(BacktestTests.sample)/klines/\(symbol)-1m.csv", columns: 6)
    }

    @Test func binanceDumpsWithAndWithoutHeaderInMsAndMicrosecondsImportAsTheSameCandles() throws {
        let tmp = TempDir()
        let report = try HistoryImport.run(paths: ["\(Self.fixtures)/XRPUSDT-1m-2025-05-21.csv", "\(Self.fixtures)/XRPUSDT-1m-2025-05-20.csv"], dir: tmp.path)
        #expect(report.files.map(\.rows) == [90, 90])
        #expect(report.files.allSatisfy { $0.symbol == "XRPUSDT" && $0.kind == .klines })
        let xrp = try Self.sample("XRPUSDT")
        let imported = try ReplayData.load(dir: tmp.path).series["XRPUSDT"]
        // Sorted by time whatever the order of the files, and equal to the real candles.
        #expect(imported == Array(xrp[0..<90]) + Array(xrp[1440..<1530]))
    }

    @Test func freqtradeJSONImportsAndAReImportChangesNothing() throws {
        let tmp = TempDir()
        let path = "\(Self.fixtures)/BNB_USDT_USDT-1m-futures.json"
        let first = try HistoryImport.run(paths: [path], dir: tmp.path)
        #expect(first.files.first?.symbol == "BNBUSDT")
        #expect(first.written.map { [$0.before, $0.after] } == [[0, 90]])
        let text = try String(contentsOfFile: tmp.file("klines/BNBUSDT-1m.csv"), encoding: .utf8)
        let again = try HistoryImport.run(paths: [Self.fixtures], dir: tmp.path)  // the folder: all three fixtures
        #expect(again.written.first { $0.path.hasSuffix("BNBUSDT-1m.csv") }.map { [$0.before, $0.after] } == [90, 90])
        #expect(try String(contentsOfFile: tmp.file("klines/BNBUSDT-1m.csv"), encoding: .utf8) == text)
        let bnb = Array(try Self.sample("BNBUSDT").prefix(90))
        #expect(try ReplayData.load(dir: tmp.path).series["BNBUSDT"] == bnb)
    }

    @Test func markPriceDumpsGoToMarkprice() throws {
        let tmp = TempDir()
        _ = try HistoryImport.run(paths: ["\(Self.fixtures)/XRPUSDT-1m-2025-05-20.csv"], dir: tmp.path, mark: true)
        #expect(FileManager.default.fileExists(atPath: tmp.file("markprice/XRPUSDT-1m.csv")))
        #expect(try String(contentsOfFile: tmp.file("markprice/XRPUSDT-1m.csv"), encoding: .utf8).hasPrefix("open_time_ms,open,high,low,close\n"))
    }

    @Test func namesAndIntervalsGobotCannotUseAreRefusedByName() throws {
        let tmp = TempDir()
        let bad = tmp.file("BTCUSDT-5m-2025-05.csv")
        try "1747699200000,1,1,1,1,1,0,0,0,0,0,0\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: HistoryImport.ImportError.notOneMinute(bad, interval: "5m")) { try HistoryImport.run(paths: [bad], dir: tmp.path) }
        let odd = tmp.file("prices.csv")
        try "x".write(toFile: odd, atomically: true, encoding: .utf8)
        #expect(throws: HistoryImport.ImportError.unknownName(odd)) { try HistoryImport.run(paths: [odd], dir: tmp.path) }
        let broken = tmp.file("XRPUSDT-1m-2025-05-22.csv")
        try "1747699200000,2.3,2.4,2.2,2.3,10,0,0,0,0,0,0\n1747699260000,2.3,abc,2.2,2.3,10,0,0,0,0,0,0\n".write(toFile: broken, atomically: true, encoding: .utf8)
        do { _ = try HistoryImport.run(paths: [broken], dir: tmp.path); Issue.record("expected a bad line") } catch {
            #expect("\(error)".contains("XRPUSDT-1m-2025-05-22.csv:2: column 3 is not a number"))
        }
    }

    @Test func theBundledSampleChecksClean() throws {
        let results = try DataCheck.run(dir: BacktestTests.sample)
        #expect(results.count == 4)
        #expect(results.filter { !$0.clean }.isEmpty, "\(results.map(\.line))")
    }

    @Test func gapsDuplicatesDisorderAndBadOHLCAreCountedPerFile() throws {
        var c = Array(try Self.sample("XRPUSDT").prefix(200))
        c.removeSubrange(50..<53)                          // 3 missing minutes
        c.insert(c[10], at: 11)                            // a duplicate
        c.swapAt(100, 101)                                 // out of order
        let bad = c[150]
        c[150] = Candle(openTimeMs: bad.openTimeMs, open: bad.open, high: bad.close - 0.01, low: bad.low, close: bad.close, volume: bad.volume)
        let r = DataCheck.check(c, path: "XRPUSDT-1m.csv", hasVolume: true)
        let counts = Dictionary(uniqueKeysWithValues: r.findings.map { ($0.kind, $0.count) })
        #expect(counts["gaps (missing minutes)"] == 3 + 1)  // the 3 removed, and the minute the swap jumps over
        #expect(counts["duplicate minutes"] == 1)
        #expect(counts["out of order rows"] == 1)
        #expect(counts["OHLC inconsistent (high/low not enclosing open/close)"] == 1)
        #expect(r.line.contains("e.g. 3 before 2025-05-20 00:53"))
        let untouched = Array(try Self.sample("XRPUSDT").prefix(200))
        #expect(DataCheck.check(untouched, path: "x", hasVolume: true).clean)
    }
}
