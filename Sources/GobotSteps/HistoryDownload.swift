import BinanceFutures
import Foundation
import GobotCore
import PaperExchange

/// `gobot data download`: 1m klines, 1m mark-price klines, funding history and an exchangeInfo
/// snapshot from Binance's public endpoints into the replay layout (`klines/SYMBOL-1m.csv`,
/// `markprice/SYMBOL-1m.csv`, `funding/SYMBOL.csv`, `exchangeInfo.json`).
///
/// Files only grow at their ends and are always sorted, so a run stopped anywhere leaves usable
/// files and the next run fetches only the minutes before the first or after the last row kept.
/// Rate limits are waited out (the client's persisted budget, 429 Retry-After); a ban, a long
/// back-off or a dead network stop the run with what was kept.
public struct HistoryDownload: Sendable {
    public struct Options: Sendable {
        public var symbols: [String]
        public var fromMs: Int64
        public var toMs: Int64
        public var dir: String
        public init(symbols: [String], fromMs: Int64, toMs: Int64, dir: String) {
            self.symbols = symbols
            self.fromMs = fromMs
            self.toMs = toMs
            self.dir = dir
        }
    }

    /// What one kind of file of one symbol holds after the run.
    public struct FileReport: Sendable, Equatable {
        public var kind: String
        public var path: String
        public var added: Int
        public var rows: Int
        public var firstMs: Int64?
        public var lastMs: Int64?

        public var line: String {
            let span = firstMs.map { "\(TradingCalendar.minuteString($0)) → \(TradingCalendar.minuteString(lastMs ?? $0))" } ?? "empty"
            return "\(kind) \(rows) rows (\(added) new), \(span)"
        }
    }

    public struct SymbolReport: Sendable, Equatable {
        public var symbol: String
        public var files: [FileReport]
        public var note: String?
        public var line: String {
            "\(symbol): " + files.map(\.line).joined(separator: "; ") + (note.map { "; \($0)" } ?? "")
        }
    }

    /// Progress of one symbol's file, for a progress bar.
    public struct Progress: Sendable {
        public var symbol: String
        public var kind: String
        public var fraction: Double
    }

    public enum DownloadError: Error, CustomStringConvertible {
        case unknownSymbol(String, suggestions: [String])
        case beforeListing(symbol: String, listedMs: Int64, toMs: Int64)
        case badRange(String)
        /// The exchange could not be reached or refused for long: exit 75, nothing kept is lost.
        case interrupted(ExchangeError, kept: [SymbolReport])

        public var description: String {
            switch self {
            case .unknownSymbol(let s, let near):
                "\(s) is not a USDⓈ-M futures symbol on Binance" + (near.isEmpty ? "" : " (did you mean \(near.joined(separator: ", "))?)")
            case .beforeListing(let s, let listed, let to):
                "\(s) was listed on \(TradingCalendar.minuteString(listed)) UTC, after the end of the range (\(TradingCalendar.minuteString(to))): no data to download"
            case .badRange(let m): m
            case .interrupted(let e, let kept):
                (["download stopped: \(e)", "kept (a second run resumes from here):"] + kept.map { "  " + $0.line }).joined(separator: "\n")
            }
        }
    }

    let client: BinanceClient
    let nowMs: @Sendable () -> Int64
    let sleep: @Sendable (Int64) async -> Void
    let progress: @Sendable (Progress) -> Void
    /// The longest rate-limit wait sat out before giving up with exit 75.
    let maxWaitMs: Int64

    public init(client: BinanceClient, nowMs: @escaping @Sendable () -> Int64,
                sleep: @escaping @Sendable (Int64) async -> Void = { ms in try? await Task.sleep(nanoseconds: UInt64(max(ms, 0)) * 1_000_000) },
                maxWaitMs: Int64 = 300_000, progress: @escaping @Sendable (Progress) -> Void = { _ in }) {
        self.client = client
        self.nowMs = nowMs
        self.sleep = sleep
        self.maxWaitMs = maxWaitMs
        self.progress = progress
    }

    struct Listing: Decodable {
        struct Symbol: Decodable { var symbol: String; var onboardDate: Int64? }
        var symbols: [Symbol]
    }

    public func run(_ o: Options, onSymbol: @Sendable (SymbolReport) -> Void = { _ in }) async throws -> [SymbolReport] {
        guard o.fromMs < o.toMs else { throw DownloadError.badRange("--from must be before --to") }
        var reports: [SymbolReport] = []
        do {
            let info = try await call { try await client.exchangeInfoSnapshot() }
            let listing = try JSONDecoder().decode(Listing.self, from: info)
            let listed = Dictionary(listing.symbols.map { ($0.symbol, $0.onboardDate) }, uniquingKeysWith: { a, _ in a })
            // Every name is checked before anything is fetched.
            for s in o.symbols where listed[s] == nil {
                throw DownloadError.unknownSymbol(s, suggestions: listed.keys.filter { $0.hasPrefix(s) || s.hasPrefix($0) }.sorted().prefix(3).map { $0 })
            }
            for s in o.symbols { if let onboard = listed[s] ?? nil, onboard >= o.toMs { throw DownloadError.beforeListing(symbol: s, listedMs: onboard, toMs: o.toMs) } }
            try FileManager.default.createDirectory(atPath: o.dir, withIntermediateDirectories: true)
            try info.write(to: URL(fileURLWithPath: "\(o.dir)/exchangeInfo.json"), options: .atomic)
            let closedBy = nowMs() / 60_000 * 60_000
            let to = min(o.toMs, closedBy)
            for s in o.symbols {
                var from = o.fromMs
                var note: String?
                if let onboard = listed[s] ?? nil, onboard > from {
                    from = (onboard + 59_999) / 60_000 * 60_000
                    note = "listed \(TradingCalendar.minuteString(onboard)) UTC, data starts there"
                }
                if to < o.toMs { note = [note, "ends at the last closed minute"].compactMap { $0 }.joined(separator: "; ") }
                var files: [FileReport] = []
                func keep() { reports.append(SymbolReport(symbol: s, files: files, note: note)) }
                do {
                    files.append(try await sync(kind: "klines", symbol: s, path: "\(o.dir)/klines/\(s)-1m.csv", header: "open_time_ms,open,high,low,close,volume",
                                                fromMs: from, toMs: to, step: 60_000) { a, b in
                        try await client.historicalKlines(symbol: s, startMs: a, endMs: b).map { ($0.openTimeMs, CandleCSV.row($0, volume: true)) }
                    })
                    files.append(try await sync(kind: "markprice", symbol: s, path: "\(o.dir)/markprice/\(s)-1m.csv", header: "open_time_ms,open,high,low,close",
                                                fromMs: from, toMs: to, step: 60_000) { a, b in
                        try await client.markPriceKlines(symbol: s, startMs: a, endMs: b).map { ($0.openTimeMs, CandleCSV.row($0, volume: false)) }
                    })
                    files.append(try await sync(kind: "funding", symbol: s, path: "\(o.dir)/funding/\(s).csv", header: "funding_time_ms,funding_rate",
                                                fromMs: from, toMs: to, step: 1) { a, b in
                        try await client.fundingHistory(symbol: s, startMs: a, endMs: b).map { ($0.timeMs, "\($0.timeMs),\($0.rate)\n") }
                    })
                } catch let e as ExchangeError {
                    files += try [("klines", "klines/\(s)-1m.csv"), ("markprice", "markprice/\(s)-1m.csv"), ("funding", "funding/\(s).csv")]
                        .filter { k in !files.contains { $0.kind == k.0 } }
                        .map { try Self.describe(kind: $0.0, path: "\(o.dir)/\($0.1)") }
                    keep()
                    throw e
                }
                keep()
                onSymbol(reports[reports.count - 1])
            }
        } catch let e as ExchangeError {
            throw DownloadError.interrupted(e, kept: reports)
        }
        return reports
    }

    /// Runs a public request, sitting out rate limits (our own budget or the exchange's 429) up to `maxWaitMs`.
    func call<T>(_ body: () async throws -> T) async throws -> T {
        while true {
            do { return try await body() } catch ExchangeError.rateLimited(let until) where until - nowMs() <= maxWaitMs {
                await sleep(max(until - nowMs(), 0) + 50)
            }
        }
    }

    typealias Rows = [(ms: Int64, line: String)]

    /// Brings one file up to `[fromMs, toMs)`: fetches before its first and after its last row.
    func sync(kind: String, symbol: String, path: String, header: String, fromMs: Int64, toMs: Int64, step: Int64,
              fetch: @escaping (Int64, Int64) async throws -> Rows) async throws -> FileReport {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let span = try Self.span(path)
        var ranges: [(Int64, Int64, append: Bool)] = []
        if let span {
            if fromMs < span.first { ranges.append((fromMs, min(toMs, span.first), false)) }
            if span.last + step < toMs { ranges.append((max(fromMs, span.last + step), toMs, true)) }
        } else if fromMs < toMs {
            ranges.append((fromMs, toMs, true))
        }
        var added = 0
        let total = Double(ranges.reduce(Int64(0)) { $0 + $1.1 - $1.0 })
        var done: Int64 = 0
        for (lo, hi, append) in ranges {
            var start = lo
            var buffer: Rows = []
            // Whatever happens, what was fetched reaches the file.
            defer { if !append, !buffer.isEmpty { try? Self.merge(path: path, header: header, rows: buffer) } }
            while start < hi {
                let page = try await call { try await fetch(start, hi - 1) }.filter { $0.ms >= start && $0.ms < hi }
                guard let last = page.last else { break }
                if append { try Self.append(path: path, header: header, rows: page) } else { buffer += page }
                added += page.count
                done += last.ms + step - start
                start = last.ms + step
                progress(Progress(symbol: symbol, kind: kind, fraction: total > 0 ? min(1, Double(done) / total) : 1))
            }
        }
        progress(Progress(symbol: symbol, kind: kind, fraction: 1))
        var report = try Self.describe(kind: kind, path: path)
        report.added = added
        return report
    }

    static func describe(kind: String, path: String) throws -> FileReport {
        let s = try span(path)
        return FileReport(kind: kind, path: path, added: 0, rows: s?.rows ?? 0, firstMs: s?.first, lastMs: s?.last)
    }

    /// First and last time and row count of a replay CSV (first field of each data row).
    static func span(_ path: String) throws -> (first: Int64, last: Int64, rows: Int)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").filter { $0.first?.isNumber == true }
        guard let a = lines.first, let b = lines.last,
              let first = Int64(a.prefix { $0 != "," }), let last = Int64(b.prefix { $0 != "," }) else { return nil }
        return (first, last, lines.count)
    }

    static func append(path: String, header: String, rows: Rows) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try Data((header + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data(rows.map(\.line).joined().utf8))
    }

    /// Adds rows before the existing ones: rewrites the file sorted, once, atomically.
    static func merge(path: String, header: String, rows: Rows) throws {
        var byTime: [Int64: String] = [:]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") where line.first?.isNumber == true {
                if let t = Int64(line.prefix { $0 != "," }) { byTime[t] = line + "\n" }
            }
        }
        for r in rows where byTime[r.ms] == nil { byTime[r.ms] = r.line }
        let body = header + "\n" + byTime.keys.sorted().map { byTime[$0]! }.joined()
        try Data(body.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
