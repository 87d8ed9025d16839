import Foundation
import GobotCore

/// Recorded history read straight from the CSV files, one window per question: every cron step
/// of a paper replay (`exchange.paper_data_dir`) reads the rows it needs by bisecting the file
/// instead of parsing the whole recording, so a step costs the same for a week or a year.
///
/// It answers exactly as a ``ReplayMarket`` holding the whole files would (a test compares them).
public final class ReplayFiles: MarketData, @unchecked Sendable {
    let files: [String: MappedFile]
    let funding: [String: [Int64: Double]]
    /// `markprice/SYMBOL-1m.csv` where the recording has it: protective orders trigger on it.
    let markFiles: [String: MappedFile]

    public init(dir: String, symbols: [String]? = nil) throws {
        var files: [String: MappedFile] = [:], funding: [String: [Int64: Double]] = [:], marks: [String: MappedFile] = [:]
        for symbol in ReplayData.symbols(dir: dir) {
            if let symbols, !symbols.contains(symbol) { continue }
            files[symbol] = try MappedFile(path: "\(dir)/klines/\(symbol)-1m.csv")
            if let rates = ReplayData.loadFunding(path: "\(dir)/funding/\(symbol).csv") { funding[symbol] = rates }
            let markPath = "\(dir)/markprice/\(symbol)-1m.csv"
            if FileManager.default.fileExists(atPath: markPath) { marks[symbol] = try MappedFile(path: markPath) }
        }
        guard !files.isEmpty else { throw ReplayData.LoadError.noData(dir) }
        self.files = files
        self.funding = funding
        self.markFiles = marks
    }

    public func symbols() -> [String] { files.keys.sorted() }

    /// Rows from the first with open time >= `fromMs`, while `keep` says so.
    func rows(_ symbol: String, fromMs: Int64, while keep: (Candle) -> Bool) throws -> [Candle] {
        guard let file = files[symbol] else { return [] }
        return try Self.rows(file, fromMs: fromMs, while: keep)
    }

    static func rows(_ file: MappedFile, fromMs: Int64, while keep: (Candle) -> Bool) throws -> [Candle] {
        var out: [Candle] = []
        do {
            try file.withBytes { bytes in
                try KlineCSV.parse(bytes, from: KlineCSV.lowerBound(bytes, openTimeMs: fromMs), file: file.path) { c in
                    guard keep(c) else { return false }
                    if c.openTimeMs >= fromMs { out.append(c) }
                    return true
                }
            }
        } catch KlineCSV.ParseError.badLine(let f, let l, let t) {
            throw ReplayData.LoadError.badLine(file: f, line: l, text: t)
        }
        return out
    }

    public func candles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        try rows(symbol, fromMs: fromMs) { $0.openTimeMs + 60_000 <= toMs }
    }

    public func klines(symbol: String, interval: Interval, startMs: Int64?, limit: Int, nowMs: Int64) async throws -> [Candle] {
        guard limit > 0, files[symbol] != nil else { return [] }
        let iv = interval.ms
        func bucket(_ t: Int64) -> Int64 { t - ((t % iv) + iv) % iv }
        let closedBefore = bucket(nowMs)  // a bar is closed by now when it opened before this
        if let startMs {
            // The first `limit` bars opening at or after startMs.
            var buckets = 0, lastBucket = Int64.min
            let m1 = try rows(symbol, fromMs: bucket(startMs)) { c in
                let b = bucket(c.openTimeMs)
                guard b < closedBefore else { return false }
                if b != lastBucket, b >= startMs {
                    if buckets == limit { return false }
                    buckets += 1
                    lastBucket = b
                }
                return true
            }
            let bars = CandleResampler.resample(m1, to: interval).filter { $0.openTimeMs >= startMs }
            return Array(bars.prefix(limit))
        }
        // The last `limit` closed bars: widen the window backwards until it holds them or the file starts.
        var span = Int64(limit) * iv
        while true {
            let from = closedBefore - span
            let m1 = try rows(symbol, fromMs: from) { bucket($0.openTimeMs) < closedBefore }
            let bars = CandleResampler.resample(m1, to: interval)
            if bars.count >= limit || from <= firstOpenMs(symbol) { return Array(bars.suffix(limit)) }
            span *= 2
        }
    }

    func firstOpenMs(_ symbol: String) -> Int64 {
        files[symbol]?.withBytes { bytes in
            let k = KlineCSV.lowerBound(bytes, openTimeMs: .min)
            return k < bytes.count ? KlineCSV.openTime(bytes, lineAt: k) : nil
        } ?? .max
    }

    public func price(symbol: String, atMs: Int64) async throws -> Double {
        guard let file = files[symbol] else { throw ExchangeError.notConfigured("no replay data for \(symbol)") }
        let found: Double? = try file.withBytes { bytes in
            let first = KlineCSV.lowerBound(bytes, openTimeMs: .min)
            let k = KlineCSV.lowerBound(bytes, openTimeMs: atMs)
            var next: Candle?
            if k < bytes.count { try KlineCSV.parse(bytes, from: k, file: file.path) { next = $0; return false } }
            if let next, next.openTimeMs - atMs < 60_000 { return next.open }
            guard k > first else { return next?.close }  // before the first row: the first row's close
            var j = k - 1
            while j > first && bytes[j - 1] != 10 { j -= 1 }
            var previous: Candle?
            try KlineCSV.parse(bytes, from: j, file: file.path) { previous = $0; return false }
            return previous?.close
        }
        guard let found else { throw ExchangeError.notConfigured("no replay data for \(symbol)") }
        return found
    }

    public func markCandles1m(symbol: String, fromMs: Int64, toMs: Int64) async throws -> [Candle] {
        guard let file = markFiles[symbol] else { return [] }
        return try Self.rows(file, fromMs: fromMs) { $0.openTimeMs + 60_000 <= toMs }
    }

    /// The open of the mark minute starting at or after `atMs`; the last price where the
    /// recording has no mark price for that minute.
    public func markPrice(symbol: String, atMs: Int64) async throws -> Double {
        if let file = markFiles[symbol], let next = try Self.rows(file, fromMs: atMs, while: { $0.openTimeMs - atMs < 60_000 }).first {
            return next.open
        }
        return try await price(symbol: symbol, atMs: atMs)
    }

    public func fundingRate(symbol: String, fundingTimeMs: Int64) async throws -> Double? {
        funding[symbol]?[fundingTimeMs]
    }
}
