import GobotCore
#if canImport(Glibc)
import Glibc
#endif

/// Kline rows (`open_time_ms,open,high,low,close,volume`) parsed straight from the file's bytes.
///
/// Building a `String` per line and calling `Double(String)` on each field ran at about
/// 165,000 rows/s: reading a year took longer than backtesting it. Plain decimals (the only
/// shape Binance writes) take Clinger's fast path: an integer mantissa below 2^53 divided by an
/// exact power of ten is correctly rounded, so the result is the very `Double` that
/// `Double(String)` returns. Anything else (exponents, long mantissas) falls back to
/// `Double(String)` for that one field; a test checks both agree on the real files.
public enum KlineCSV {
    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case badLine(file: String, line: Int, text: String)

        public var description: String {
            switch self {
            case .badLine(let f, let l, let t): "\(f):\(l): not a kline row (open_time_ms,open,high,low,close,volume): \(t.prefix(80))"
            }
        }
    }

    /// Exact powers of ten (10^22 is the largest a Double holds exactly).
    static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { a, _ in a * 10 } }

    /// Parses every row of `bytes`. A first line starting with `open_time` is a header; rows with
    /// fewer than two bytes are skipped; fields past the sixth are ignored.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws -> [Candle] {
        var out: [Candle] = []
        out.reserveCapacity(bytes.count / 48 + 1)
        try parse(bytes, from: 0, file: file) { c in out.append(c); return true }
        return out
    }

    /// Parses rows starting at byte `from` (a line start), handing each to `row` until it returns false.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, file: String, row: (Candle) -> Bool) throws {
        let n = bytes.count
        var i = from
        var lineNo = 0
        var fields = (0.0, 0.0, 0.0, 0.0, 0.0)
        guard let base = bytes.baseAddress else { return }
        try powersOfTen.withUnsafeBufferPointer { pow10 in
            while i < n {
                lineNo += 1
                // The common row in one pass; anything unusual (header, spaces, exponents, errors) is
                // parsed again below by the careful path, which keeps every message and rule.
                if lineNo > 1 || from > 0, let c = fastRow(base, &i, n, pow10.baseAddress!) {
                    if !row(c) { return }
                    continue
                }
                let start = i
                var end = i
                while end < n && bytes[end] != 10 { end += 1 }
                i = end + 1
                var stop = end
                if stop > start && bytes[stop - 1] == 13 { stop -= 1 }  // CRLF
                if stop - start < 2 { continue }
                if lineNo == 1 && from == 0 && hasPrefix(bytes, start, stop, "open_time") { continue }
                var p = start
                guard let time = parseTime(bytes, &p, stop) else { throw badLine(bytes, start, stop, file, lineNo, from) }
                var ok = true
                for k in 0..<5 {
                    // Mark-price rows have no volume column: a row may end after the close.
                    if k == 4 && p == stop { fields.4 = 0; break }
                    guard p < stop, bytes[p] == 44 else { ok = false; break }  // ','
                    p += 1
                    guard let v = parseDouble(bytes, &p, stop) else { ok = false; break }
                    switch k {
                    case 0: fields.0 = v
                    case 1: fields.1 = v
                    case 2: fields.2 = v
                    case 3: fields.3 = v
                    default: fields.4 = v
                    }
                }
                guard ok, p == stop || bytes[p] == 44 else { throw badLine(bytes, start, stop, file, lineNo, from) }
                if !row(Candle(openTimeMs: time, open: fields.0, high: fields.1, low: fields.2, close: fields.3, volume: fields.4)) { return }
            }
        }
    }

    /// `time,open,high,low,close[,volume]` of plain digits ending in LF, CRLF or the end of the
    /// bytes, with `p` at the line start: the candle, with `p` past the line. Nil (and `p` as it
    /// was) for anything else.
    @inline(__always)
    static func fastRow(_ b: UnsafePointer<UInt8>, _ p: inout Int, _ n: Int, _ pow10: UnsafePointer<Double>) -> Candle? {
        var i = p
        var time: Int64 = 0, digits = 0
        while i < n, b[i] &- 48 < 10, digits < 18 { time = time &* 10 &+ Int64(b[i] &- 48); i += 1; digits += 1 }
        guard digits > 0, i < n, b[i] == 44 else { return nil }
        i += 1
        guard let open = fastDouble(b, &i, n, pow10), i < n, b[i] == 44 else { return nil }
        i += 1
        guard let high = fastDouble(b, &i, n, pow10), i < n, b[i] == 44 else { return nil }
        i += 1
        guard let low = fastDouble(b, &i, n, pow10), i < n, b[i] == 44 else { return nil }
        i += 1
        guard let close = fastDouble(b, &i, n, pow10) else { return nil }
        var volume = 0.0
        if i < n && b[i] == 44 {
            i += 1
            guard let v = fastDouble(b, &i, n, pow10) else { return nil }
            volume = v
        }
        if i < n {
            if b[i] == 13 && i + 1 < n && b[i + 1] == 10 { i += 2 } else if b[i] == 10 { i += 1 } else { return nil }
        }
        p = i
        return Candle(openTimeMs: time, open: open, high: high, low: low, close: close, volume: volume)
    }

    /// A plain decimal (`-12.345`) on Clinger's fast path (at most 19 digits, mantissa below 2^53,
    /// at most 22 decimals), followed by a comma, a line end or the end of the bytes; else nil.
    @inline(__always)
    static func fastDouble(_ b: UnsafePointer<UInt8>, _ p: inout Int, _ n: Int, _ pow10: UnsafePointer<Double>) -> Double? {
        var i = p
        let negative = i < n && b[i] == 45
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        let first = i
        while i < n, b[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); i += 1 }
        var digits = i - first, fraction = 0
        if i < n && b[i] == 46 {
            i += 1
            let dot = i
            while i < n, b[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); i += 1 }
            fraction = i - dot
            digits += fraction
        }
        guard digits > 0, digits <= 19, fraction <= 22, mantissa < (1 << 53) else { return nil }
        if i < n { let c = b[i]; guard c == 44 || c == 10 || c == 13 else { return nil } }
        p = i
        let v = Double(mantissa) / pow10[fraction]
        return negative ? -v : v
    }

    /// The open time of the row starting at byte `start`, or nil for a header or a bad row.
    public static func openTime(_ bytes: UnsafeBufferPointer<UInt8>, lineAt start: Int) -> Int64? {
        var stop = start
        while stop < bytes.count && bytes[stop] != 10 && bytes[stop] != 44 { stop += 1 }
        var p = start
        return parseTime(bytes, &p, stop)
    }

    /// Index of the first line whose open time is >= `ms`, by bisection over byte offsets (rows are
    /// sorted by time). `bytes.count` when every row is earlier.
    public static func lowerBound(_ bytes: UnsafeBufferPointer<UInt8>, openTimeMs ms: Int64) -> Int {
        func lineStart(atOrAfter k: Int) -> Int {
            if k == 0 { return 0 }
            var j = k
            while j < bytes.count && bytes[j - 1] != 10 { j += 1 }
            return j
        }
        // Skip a header.
        var first = 0
        if openTime(bytes, lineAt: 0) == nil { first = lineStart(atOrAfter: 1) }
        var lo = first, hi = bytes.count  // invariant: the answer is a line start in [lo, hi]
        while lo < hi {
            let mid = lineStart(atOrAfter: lo + (hi - lo) / 2)
            if mid >= hi {
                // No line starts in the upper half: scan [lo, hi) linearly.
                var j = lo
                while j < hi, let t = openTime(bytes, lineAt: j), t < ms { j = lineStart(atOrAfter: j + 1) }
                return min(j, bytes.count)
            }
            if let t = openTime(bytes, lineAt: mid), t < ms { lo = lineStart(atOrAfter: mid + 1) } else { hi = mid }
        }
        return lo
    }

    // MARK: bytes to numbers

    @inline(__always)
    static func skipSpaces(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int, _ stop: Int) {
        while p < stop && (b[p] == 32 || b[p] == 9) { p += 1 }
    }

    /// Milliseconds: plain digits; anything else goes through `Double(String)` like before.
    @inline(__always)
    static func parseTime(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int, _ stop: Int) -> Int64? {
        skipSpaces(b, &p, stop)
        let begin = p
        var v: Int64 = 0
        var digits = 0
        while p < stop, b[p] &- 48 < 10, digits < 18 {
            v = v * 10 + Int64(b[p] &- 48)
            p += 1
            digits += 1
        }
        let end = p
        skipSpaces(b, &p, stop)
        if digits > 0 && (p == stop || b[p] == 44) && !(end < stop && b[end] &- 48 < 10) { return v }
        p = begin
        guard let d = slowDouble(b, &p, stop), d.isFinite, abs(d) < 9.2e18 else { return nil }
        return Int64(d)
    }

    @inline(__always)
    static func parseDouble(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int, _ stop: Int) -> Double? {
        skipSpaces(b, &p, stop)
        let begin = p
        var negative = false
        if p < stop && (b[p] == 45 || b[p] == 43) { negative = b[p] == 45; p += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawDigit = false
        while p < stop, b[p] &- 48 < 10 {
            if mantissa != 0 || b[p] != 48 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(b[p] &- 48)
            p += 1
            sawDigit = true
        }
        if p < stop && b[p] == 46 {  // '.'
            p += 1
            while p < stop, b[p] &- 48 < 10 {
                if mantissa != 0 || b[p] != 48 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(b[p] &- 48)
                fraction += 1
                p += 1
                sawDigit = true
            }
        }
        let end = p
        skipSpaces(b, &p, stop)
        if sawDigit && digits <= 15 && fraction <= 22 && (p == stop || b[p] == 44) && mantissa < (1 << 53) {
            _ = end
            let v = Double(mantissa) / powersOfTen[fraction]
            return negative ? -v : v
        }
        p = begin
        return slowDouble(b, &p, stop)
    }

    /// One field through `Double(String)`: exponents, long mantissas, `nan`.
    static func slowDouble(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int, _ stop: Int) -> Double? {
        var end = p
        while end < stop && b[end] != 44 { end += 1 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[p..<end]), as: UTF8.self)
        p = end
        return Double(text.trimmingSpaces)
    }

    static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ stop: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard stop - start >= count else { return false }
        let base = prefix.utf8Start
        for k in 0..<count where b[start + k] != base[k] { return false }
        return true
    }

    static func badLine(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ stop: Int, _ file: String, _ lineNo: Int, _ from: Int) -> ParseError {
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<stop]), as: UTF8.self)
        // Line numbers count from the start of the file, also when parsing began at an offset.
        var line = lineNo
        if from > 0 { line += UnsafeBufferPointer(rebasing: b[0..<from]).reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
        return .badLine(file: file, line: line, text: text)
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}
