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

    public static func load(dir: String, symbols: [String]? = nil, fromMs: Int64? = nil, toMs: Int64? = nil) throws -> ReplayMarket {
        let klinesDir = "\(dir)/klines"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: klinesDir)) ?? []
        var series: [String: [Candle]] = [:]
        var funding: [String: [Int64: Double]] = [:]
        var markSeries: [String: [Candle]] = [:]
        for f in files.sorted() where f.hasSuffix("-1m.csv") {
            let symbol = String(f.dropLast("-1m.csv".count))
            if let symbols, !symbols.contains(symbol) { continue }
            var candles = try parseKlines(path: "\(klinesDir)/\(f)")
            if let fromMs { candles.removeAll { $0.openTimeMs < fromMs } }
            if let toMs { candles.removeAll { $0.openTimeMs + 60_000 > toMs } }
            series[symbol] = candles
            if let marks = try loadMarkPrices(dir: dir, symbol: symbol, fromMs: fromMs, toMs: toMs) { markSeries[symbol] = marks }
            if let text = try? String(contentsOfFile: "\(dir)/funding/\(symbol).csv", encoding: .utf8) {
                var m: [Int64: Double] = [:]
                for line in text.split(separator: "\n").dropFirst() {
                    let parts = line.split(separator: ",")
                    guard parts.count >= 2, let t = Int64(parts[0]), let r = Double(parts[1]) else { continue }
                    m[t - t % 3_600_000] = r  // real fundingTime is a few ms past the hour
                }
                funding[symbol] = m
            }
        }
        guard !series.isEmpty else { throw LoadError.noData(dir) }
        return ReplayMarket(series: series, funding: funding, markSeries: markSeries)
    }

    public static func parseKlines(path: String) throws -> [Candle] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var out: [Candle] = []
        out.reserveCapacity(data.count / 50)
        var lineNo = 0
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var fields = [Double](repeating: 0, count: 6)
            var start = 0
            let bytes = raw.bindMemory(to: UInt8.self)
            for i in 0...bytes.count {
                if i < bytes.count && bytes[i] != 10 { continue }
                defer { start = i + 1 }
                lineNo += 1
                if i - start < 2 { continue }
                let line = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                if lineNo == 1 && line.hasPrefix("open_time") { continue }
                let parts = line.split(separator: ",", omittingEmptySubsequences: false)
                guard parts.count >= 6 else { throw LoadError.badLine(file: path, line: lineNo, text: line) }
                for k in 0..<6 {
                    guard let v = Double(parts[k].trimmingCharacters(in: .whitespacesAndNewlines)) else {
                        throw LoadError.badLine(file: path, line: lineNo, text: line)
                    }
                    fields[k] = v
                }
                out.append(Candle(openTimeMs: Int64(fields[0]), open: fields[1], high: fields[2], low: fields[3], close: fields[4], volume: fields[5]))
            }
        }
        return out
    }
}
