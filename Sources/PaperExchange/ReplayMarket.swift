import Foundation
import GobotCore

/// Historical candles held in memory for backtests and paper replays. It never returns a candle
/// that has not closed by the time asked about, so nothing downstream can look ahead.
public final class ReplayMarket: MarketData, @unchecked Sendable {
    public let series: [String: [Candle]]
    public let funding: [String: [Int64: Double]]
    /// 1m mark-price candles (`markprice/SYMBOL-1m.csv`), where downloaded.
    public let markSeries: [String: [Candle]]
    let resampled: [String: [Interval: [Candle]]]

    public init(series: [String: [Candle]], funding: [String: [Int64: Double]] = [:], markSeries: [String: [Candle]] = [:]) {
        self.series = series
        self.funding = funding
        self.markSeries = markSeries
        var r: [String: [Interval: [Candle]]] = [:]
        for (s, c) in series {
            r[s] = [.m1: c, .m5: CandleResampler.resample(c, to: .m5), .m15: CandleResampler.resample(c, to: .m15)]
        }
        resampled = r
    }

    public func symbols() -> [String] { series.keys.sorted() }

    public var range: (startMs: Int64, endMs: Int64)? {
        let starts = series.values.compactMap { $0.first?.openTimeMs }
        let ends = series.values.compactMap { $0.last.map { $0.openTimeMs + 60_000 } }
        guard let s = starts.max(), let e = ends.min() else { return nil }
        return (s, e)
    }

    /// Index of the first candle with open time >= ms.
    static func lowerBound(_ c: [Candle], _ ms: Int64) -> Int {
        var lo = 0, hi = c.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if c[mid].openTimeMs < ms { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        guard let c = series[symbol] else { return [] }
        return Self.closed(c, fromMs: fromMs, toMs: toMs)
    }

    public func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        guard let c = markSeries[symbol] else { return [] }
        return Self.closed(c, fromMs: fromMs, toMs: toMs)
    }

    /// Closed by toMs: open time + 1m <= toMs.
    static func closed(_ c: [Candle], fromMs: Int64, toMs: Int64) -> [Candle] {
        let a = lowerBound(c, fromMs), b = lowerBound(c, toMs - 60_000 + 1)
        return a < b ? Array(c[a..<b]) : []
    }

    /// Which price stops and targets trigger on in this replay.
    public var triggerPriceSource: TriggerPriceSource {
        .from(withMark: series.keys.filter { !(markSeries[$0] ?? []).isEmpty }.count, of: series.count)
    }

    public func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
        guard let c = resampled[symbol]?[interval] else { return [] }
        let end = Self.lowerBound(c, nowMs - interval.ms + 1)  // candles closed by now
        let begin = startMs.map { min(Self.lowerBound(c, $0), end) } ?? max(0, end - limit)
        let stop = min(end, begin + limit)
        return begin < stop ? Array(c[begin..<stop]) : []
    }

    public func price(symbol: String, atMs: Int64) async throws -> Double {
        guard let c = series[symbol], !c.isEmpty else { throw ExchangeError.notConfigured("no replay data for \(symbol)") }
        return Self.price(c, atMs: atMs)
    }

    public func markPrice(symbol: String, atMs: Int64) async throws -> Double {
        guard let m = markSeries[symbol], let first = m.first, let last = m.last,
              first.openTimeMs <= atMs, atMs < last.openTimeMs + 60_000 else { return try await price(symbol: symbol, atMs: atMs) }
        return Self.price(m, atMs: atMs)
    }

    static func price(_ c: [Candle], atMs: Int64) -> Double {
        let i = lowerBound(c, atMs)
        if i < c.count, c[i].openTimeMs - atMs < 60_000 { return c[i].open }
        return c[max(0, min(i, c.count) - 1)].close
    }

    public func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? {
        funding[symbol]?[fundingTimeMs]
    }
}

/// Reads the CSV files of `../shared/data` layout (`klines/SYMBOL-1m.csv`, `funding/SYMBOL.csv`).
public enum ReplayData {
    public enum LoadError: Error, CustomStringConvertible {
        case noData(String)
        case badLine(file: String, line: Int, text: String)

        public var description: String {
            switch self {
            case .noData(let dir): "no klines/SYMBOL-1m.csv files under \(dir)"
            case .badLine(let f, let l, let t): "\(f):\(l): not a kline row (open_time_ms,open,high,low,close,volume): \(t.prefix(80))"
            }
        }
    }

    /// Candles and funding rates of a data folder, without the resampled frames a `ReplayMarket` builds.
    public struct Series: Sendable {
        public var candles: [String: [Candle]]
        public var funding: [String: [Int64: Double]]
        /// Mark-price 1m klines from `markprice/`, where the folder has them.
        public var marks: [String: [Candle]]
    }

    public static func load(dir: String, symbols: [String]? = nil, fromMs: Int64? = nil, toMs: Int64? = nil) throws -> ReplayMarket {
        let s = try loadSeries(dir: dir, symbols: symbols, fromMs: fromMs, toMs: toMs)
        return ReplayMarket(series: s.candles, funding: s.funding, markSeries: s.marks)
    }

    /// The symbols that have a `klines/SYMBOL-1m.csv` file under `dir`, sorted.
    public static func symbols(dir: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/klines")) ?? []
        return files.filter { $0.hasSuffix("-1m.csv") }.map { String($0.dropLast("-1m.csv".count)) }.sorted()
    }

    /// Reads only the rows of the window: the start is found by bisecting the file, parsing stops at the end.
    public static func loadSeries(dir: String, symbols: [String]? = nil, fromMs: Int64? = nil, toMs: Int64? = nil) throws -> Series {
        var series: [String: [Candle]] = [:]
        var funding: [String: [Int64: Double]] = [:]
        var markSeries: [String: [Candle]] = [:]
        for symbol in Self.symbols(dir: dir) {
            if let symbols, !symbols.contains(symbol) { continue }
            series[symbol] = try parseKlines(path: "\(dir)/klines/\(symbol)-1m.csv", fromMs: fromMs, toMs: toMs)
            if let marks = try loadMarkPrices(dir: dir, symbol: symbol, fromMs: fromMs, toMs: toMs) { markSeries[symbol] = marks }
            if let rates = loadFunding(path: "\(dir)/funding/\(symbol).csv") { funding[symbol] = rates }
        }
        guard !series.isEmpty else { throw LoadError.noData(dir) }
        return Series(candles: series, funding: funding, marks: markSeries)
    }

    /// Funding events by hour (`funding_time_ms,rate`), nil when the file is missing.
    public static func loadFunding(path: String) -> [Int64: Double]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var m: [Int64: Double] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            guard parts.count >= 2, let t = Int64(parts[0]), let r = Double(parts[1]) else { continue }
            m[t - t % 3_600_000] = r  // real fundingTime is a few ms past the hour
        }
        return m
    }

    public static func parseKlines(path: String) throws -> [Candle] {
        try parseKlines(path: path, fromMs: nil, toMs: nil)
    }

    /// Rows with open time >= `fromMs` that closed by `toMs` (open + 1m <= toMs).
    public static func parseKlines(path: String, fromMs: Int64?, toMs: Int64?) throws -> [Candle] {
        let file = try MappedFile(path: path)
        do {
            return try file.withBytes { bytes in
                guard fromMs != nil || toMs != nil else { return try KlineCSV.parse(bytes, file: path) }
                let start = fromMs.map { KlineCSV.lowerBound(bytes, openTimeMs: $0) } ?? 0
                var out: [Candle] = []
                try KlineCSV.parse(bytes, from: start, file: path) { c in
                    if let toMs, c.openTimeMs + 60_000 > toMs { return false }
                    if let fromMs, c.openTimeMs < fromMs { return true }
                    out.append(c)
                    return true
                }
                return out
            }
        } catch let e as KlineCSV.ParseError {
            guard case .badLine(let f, let l, let t) = e else { throw e }
            throw LoadError.badLine(file: f, line: l, text: t)
        }
    }
}
