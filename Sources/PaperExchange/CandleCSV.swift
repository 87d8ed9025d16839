import Foundation
import GobotCore

/// Reads 1m candle CSV files in the layouts gobot meets: its own replay files
/// (`open_time_ms,open,high,low,close[,volume]`, mark-price files have no volume) and the
/// 12-column kline files Binance publishes (with or without a header row, open time in
/// milliseconds or, since 2025, microseconds).
public enum CandleCSV {
    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case badLine(file: String, line: Int, text: String, reason: String)

        public var description: String {
            switch self {
            case .badLine(let f, let l, let t, let r): "\(f):\(l): \(r): \(t.prefix(80))"
            }
        }
    }

    /// Open times at or above this are microseconds (ms reach it only in the year 5138).
    public static let microsecondThreshold: Int64 = 100_000_000_000_000

    /// Candles in file order. A first line whose first field is not a number is a header.
    /// - Parameter columns: the fewest columns a row must have (5 without volume, 6 with).
    public static func parse(_ text: String, file: String, columns: Int = 5) throws -> [Candle] {
        var out: [Candle] = []
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let parts = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if lineNo == 1, Int64(parts[0]) == nil, Double(parts[0]) == nil { continue }  // header
            guard parts.count >= columns else {
                throw ParseError.badLine(file: file, line: lineNo, text: line, reason: "\(parts.count) columns, expected at least \(columns)")
            }
            guard var t = Int64(parts[0]) else { throw ParseError.badLine(file: file, line: lineNo, text: line, reason: "open time is not an integer") }
            if t >= microsecondThreshold { t /= 1000 }
            var v = [Double](repeating: 0, count: 5)
            for k in 1..<min(6, parts.count) {
                guard let x = Double(parts[k]), x.isFinite else {
                    throw ParseError.badLine(file: file, line: lineNo, text: line, reason: "column \(k + 1) is not a number")
                }
                v[k - 1] = x
            }
            out.append(Candle(openTimeMs: t, open: v[0], high: v[1], low: v[2], close: v[3], volume: v[4]))
        }
        return out
    }

    public static func parse(path: String, columns: Int = 5) throws -> [Candle] {
        try parse(try String(contentsOfFile: path, encoding: .utf8), file: path, columns: columns)
    }

    /// gobot's replay layout: header, one row per minute, prices as the exchange printed them.
    public static func render(_ candles: [Candle], volume: Bool) -> String {
        var s = volume ? "open_time_ms,open,high,low,close,volume\n" : "open_time_ms,open,high,low,close\n"
        s.reserveCapacity(candles.count * 60)
        for c in candles { s += row(c, volume: volume) }
        return s
    }

    public static func row(_ c: Candle, volume: Bool) -> String {
        let p = [c.open, c.high, c.low, c.close].map(number).joined(separator: ",")
        return volume ? "\(c.openTimeMs),\(p),\(number(c.volume))\n" : "\(c.openTimeMs),\(p)\n"
    }

    /// The shortest text that reads back as the same Double (90776.94748889, not 90776.947488890003).
    static func number(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return abs(x) < 1e-4 ? (Decimal(price: x)?.plainString ?? String(x)) : String(x)
    }
}
