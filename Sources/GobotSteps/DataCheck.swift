import Foundation
import GobotCore
import PaperExchange

/// `gobot data check`: what in a replay folder would make a backtest trade across bad data —
/// missing minutes, duplicated or out-of-order rows, times off the minute grid, impossible
/// OHLC — per symbol and file, so the user fixes or re-downloads instead of trusting it.
public enum DataCheck {
    public struct Finding: Sendable, Equatable {
        public var kind: String
        public var count: Int
        /// The first few examples, as open times or row numbers.
        public var examples: [String]
    }

    public struct FileResult: Sendable, Equatable {
        public var path: String
        public var rows: Int
        public var firstMs: Int64?
        public var lastMs: Int64?
        public var findings: [Finding]
        public var clean: Bool { findings.isEmpty }

        public var line: String {
            let span = firstMs.map { "\(TradingCalendar.minuteString($0)) → \(TradingCalendar.minuteString(lastMs ?? $0))" } ?? "empty"
            let head = "\(path): \(rows) rows, \(span)"
            guard !clean else { return head + ", ok" }
            return head + "\n" + findings.map { "  \($0.kind): \($0.count)" + ($0.examples.isEmpty ? "" : " (e.g. \($0.examples.joined(separator: ", ")))") }.joined(separator: "\n")
        }
    }

    /// Checks one series of 1m candles in file order.
    public static func check(_ candles: [Candle], path: String, hasVolume: Bool) -> FileResult {
        var found: [String: (Int, [String])] = [:]
        var order: [String] = []
        func note(_ kind: String, _ example: String, count: Int = 1) {
            if found[kind] == nil { order.append(kind); found[kind] = (0, []) }
            found[kind]!.0 += count
            if found[kind]!.1.count < 3 { found[kind]!.1.append(example) }
        }
        var seen = Set<Int64>()
        var previous: Int64?
        for (i, c) in candles.enumerated() {
            let at = TradingCalendar.minuteString(c.openTimeMs)
            if c.openTimeMs % 60_000 != 0 { note("open time not on a minute", "row \(i + 1) \(c.openTimeMs)") }
            if !seen.insert(c.openTimeMs).inserted { note("duplicate minutes", at) }
            if let p = previous {
                if c.openTimeMs < p { note("out of order rows", "row \(i + 1) \(at)") }
                else if c.openTimeMs - p > 60_000 {
                    let missing = Int((c.openTimeMs - p) / 60_000) - 1
                    note("gaps (missing minutes)", "\(missing) before \(at)", count: missing)
                }
            }
            previous = max(previous ?? c.openTimeMs, c.openTimeMs)
            if c.high < max(c.open, c.close) || c.low > min(c.open, c.close) || c.low > c.high { note("OHLC inconsistent (high/low not enclosing open/close)", at) }
            if min(c.open, c.high, c.low, c.close) <= 0 { note("non-positive prices", at) }
            if hasVolume && c.volume < 0 { note("negative volume", at) }
        }
        return FileResult(path: path, rows: candles.count, firstMs: candles.map(\.openTimeMs).min(), lastMs: candles.map(\.openTimeMs).max(),
                          findings: order.map { Finding(kind: $0, count: found[$0]!.0, examples: found[$0]!.1) })
    }

    /// Every `klines/*-1m.csv` and `markprice/*-1m.csv` of `dir`, plus whether each kline file
    /// has funding and mark-price companions.
    public static func run(dir: String) throws -> [FileResult] {
        var out: [FileResult] = []
        var any = false
        for sub in ["klines", "markprice"] {
            let folder = "\(dir)/\(sub)"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix("-1m.csv") }.sorted()
            for name in names {
                any = true
                let path = "\(folder)/\(name)"
                do {
                    var r = check(try CandleCSV.parse(path: path, columns: sub == "klines" ? 6 : 5), path: path, hasVolume: sub == "klines")
                    if sub == "klines" {
                        let symbol = String(name.dropLast("-1m.csv".count))
                        if !FileManager.default.fileExists(atPath: "\(dir)/funding/\(symbol).csv") {
                            r.findings.append(Finding(kind: "no funding/\(symbol).csv (backtests will book no funding)", count: 1, examples: []))
                        }
                    }
                    out.append(r)
                } catch {
                    out.append(FileResult(path: path, rows: 0, findings: [Finding(kind: "unreadable", count: 1, examples: ["\(error)"])]))
                }
            }
        }
        guard any else { throw ReplayData.LoadError.noData(dir) }
        return out
    }
}
