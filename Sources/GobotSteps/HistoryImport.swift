import Foundation
import GobotCore
import PaperExchange

/// `gobot data import`: candle files other tools publish, merged into the replay layout.
///
/// - Binance's public USDⓈ-M dumps (data.binance.vision), `SYMBOL-1m-YYYY-MM[-DD].csv`: 12
///   columns, with or without a header row, open time in ms or (since 2025) µs. Mark-price dumps
///   carry the same names, so they are imported with `mark: true`.
/// - freqtrade's JSON candles, `BASE_QUOTE[_SETTLE]-1m[-futures|-mark].json`: `[[ms, o, h, l, c, v], ...]`.
///
/// Rows already in the replay file win over imported ones for the same minute; the files stay
/// sorted with one row per minute.
public enum HistoryImport {
    public enum ImportError: Error, CustomStringConvertible, Equatable {
        case unknownName(String)
        case notOneMinute(String, interval: String)
        case unreadable(String, reason: String)

        public var description: String {
            switch self {
            case .unknownName(let p):
                "\(p): cannot tell the symbol from the name; expected Binance's SYMBOL-1m-YYYY-MM[-DD].csv or freqtrade's BASE_QUOTE_SETTLE-1m-futures.json"
            case .notOneMinute(let p, let i): "\(p): \(i) candles; gobot replays 1m candles only (5m and 15m are resampled from them)"
            case .unreadable(let p, let r): "\(p): \(r)"
            }
        }
    }

    public enum Kind: String, Sendable { case klines, markprice }

    public struct FileResult: Sendable, Equatable {
        public var path: String
        public var symbol: String
        public var kind: Kind
        public var rows: Int
    }

    public struct Written: Sendable, Equatable {
        public var path: String
        public var before: Int
        public var after: Int
    }

    public struct Report: Sendable, Equatable {
        public var files: [FileResult]
        /// Per replay file written: rows before and after.
        public var written: [Written]
        public var lines: [String] {
            files.map { "\($0.path): \($0.symbol) \($0.kind.rawValue), \($0.rows) rows" }
                + written.map { "\($0.path): \($0.before) → \($0.after) rows" }
        }
    }

    /// Symbol, kind and interval from a file name.
    static func identify(_ path: String, mark: Bool) throws -> (symbol: String, kind: Kind) {
        let name = (path as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        let parts = stem.split(separator: "-").map(String.init)
        guard parts.count >= 2, !parts[0].isEmpty else { throw ImportError.unknownName(path) }
        let interval = parts[1]
        if name.hasSuffix(".json") {
            // freqtrade: BTC_USDT_USDT-1m-futures.json, BTC_USDT_USDT-1m-mark.json, BTC_USDT-1m.json
            let pair = parts[0].split(separator: "_")
            guard pair.count >= 2 else { throw ImportError.unknownName(path) }
            guard interval == "1m" else { throw ImportError.notOneMinute(path, interval: interval) }
            return (String(pair[0] + pair[1]).uppercased(), mark || parts.dropFirst(2).contains("mark") ? .markprice : .klines)
        }
        guard name.hasSuffix(".csv"), parts[0].allSatisfy({ $0.isLetter || $0.isNumber }) else { throw ImportError.unknownName(path) }
        guard interval == "1m" else { throw ImportError.notOneMinute(path, interval: interval) }
        return (parts[0].uppercased(), mark ? .markprice : .klines)
    }

    /// Candles of one file, in file order.
    public static func read(_ path: String) throws -> [Candle] {
        if path.hasSuffix(".zip") {
            throw ImportError.unreadable(path, reason: "a zip archive; unzip it first (unzip \((path as NSString).lastPathComponent))")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ImportError.unreadable(path, reason: "cannot be read") }
        if path.hasSuffix(".json") {
            guard let rows = try? JSONSerialization.jsonObject(with: data) as? [[Any]] else {
                throw ImportError.unreadable(path, reason: "not a freqtrade candle file ([[ms, open, high, low, close, volume], ...])")
            }
            return try rows.enumerated().map { i, row in
                let v = row.compactMap { ($0 as? NSNumber)?.doubleValue }
                guard row.count >= 6, v.count >= 6 else { throw ImportError.unreadable(path, reason: "row \(i + 1) is not [ms, open, high, low, close, volume]") }
                var t = Int64(v[0])
                if t >= CandleCSV.microsecondThreshold { t /= 1000 }
                return Candle(openTimeMs: t, open: v[1], high: v[2], low: v[3], close: v[4], volume: v[5])
            }
        }
        do { return try CandleCSV.parse(String(decoding: data, as: UTF8.self), file: path, columns: 5) } catch {
            throw ImportError.unreadable(path, reason: "\(error)")
        }
    }

    /// Imports `paths` (files, or folders searched one level deep) into `dir`.
    public static func run(paths: [String], dir: String, mark: Bool = false) throws -> Report {
        var files: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw ImportError.unreadable(p, reason: "no such file or folder") }
            if isDir.boolValue {
                files += try FileManager.default.contentsOfDirectory(atPath: p).filter { $0.hasSuffix(".csv") || $0.hasSuffix(".json") }.sorted().map { "\(p)/\($0)" }
            } else {
                files.append(p)
            }
        }
        var results: [FileResult] = []
        var incoming: [String: [Candle]] = [:]  // replay path → candles
        for f in files {
            let (symbol, kind) = try identify(f, mark: mark)
            let candles = try read(f)
            results.append(FileResult(path: f, symbol: symbol, kind: kind, rows: candles.count))
            incoming["\(dir)/\(kind.rawValue)/\(symbol)-1m.csv", default: []] += candles
        }
        var written: [Written] = []
        for (path, candles) in incoming.sorted(by: { $0.key < $1.key }) {
            let volume = path.contains("/klines/")
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let existing = FileManager.default.fileExists(atPath: path) ? try CandleCSV.parse(path: path, columns: volume ? 6 : 5) : []
            var byTime: [Int64: Candle] = [:]
            for c in candles { byTime[c.openTimeMs] = c }
            for c in existing { byTime[c.openTimeMs] = c }  // what is already there wins
            let merged = byTime.keys.sorted().map { byTime[$0]! }
            try Data(CandleCSV.render(merged, volume: volume).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            written.append(Written(path: path, before: existing.count, after: merged.count))
        }
        return Report(files: results, written: written)
    }
}
