import Foundation

extension Decimal {
    /// 0.01 exactly; multiplying by it is the same as dividing by 100, without the long division.
    static let hundredth = Decimal(sign: .plus, exponent: -2, significand: 1)
    /// Built once: a `Locale` per conversion was a good part of every stored amount's parse.
    static let posix = Locale(identifier: "en_US_POSIX")
    /// Rounds to `scale` decimal places, half away from zero; for display, never for order sizes.
    public func rounded(scale: Int) -> Decimal { rounded(scale: scale, mode: .plain) }

    func rounded(scale: Int, mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, mode)
        return result
    }

    /// The number of decimals of `step` when it is a power of ten (0.001 → 3, 1 → 0), else nil.
    /// Exchange tick and step sizes almost always are, and rounding to a scale needs no
    /// division, which is the slow part of Decimal arithmetic.
    static func powerOfTenScale(_ step: Decimal) -> Int? {
        let d = step.doubleValue
        guard d > 0, d <= 1 else { return nil }
        let k = (-log10(d)).rounded()
        return abs(d * pow(10, k) - 1) < 1e-12 ? Int(k) : nil
    }

    /// The largest multiple of `step` not above `self` (for quantities: never size up).
    public func floored(toMultipleOf step: Decimal) -> Decimal { rounded(toMultipleOf: step, mode: .down) }

    /// The smallest multiple of `step` not below `self`.
    public func ceiled(toMultipleOf step: Decimal) -> Decimal { rounded(toMultipleOf: step, mode: .up) }

    /// The multiple of `step` nearest to `self` (for prices on the tick grid).
    public func roundedToNearest(multipleOf step: Decimal) -> Decimal { rounded(toMultipleOf: step, mode: .plain) }

    func rounded(toMultipleOf step: Decimal, mode: NSDecimalNumber.RoundingMode) -> Decimal {
        guard step > 0 else { return self }
        if let scale = Self.powerOfTenScale(step) { return rounded(scale: scale, mode: mode) }
        var quotient = self / step
        var whole = Decimal()
        NSDecimalRound(&whole, &quotient, 0, mode)
        return whole * step
    }

    /// A market price (a `Double` from candles or a price feed) as the exact decimal it prints as,
    /// so 2.3459 becomes 2.3459, not 2.34589999…. The paper exchange, the in-memory engine and the
    /// trade step must convert identically; nil for NaN or infinity.
    public init?(price: Double) {
        guard price.isFinite, let d = Decimal(string: String(price), locale: Self.posix) else { return nil }
        self = d
    }

    public var doubleValue: Double { NSDecimalNumber(decimal: self).doubleValue }

    /// A plain string without exponent, as Binance expects in query strings.
    public var plainString: String {
        var copy = self
        return NSDecimalString(&copy, Self.posix)
    }

    /// Every stored amount goes through here (the ledger on every risk check), so the usual
    /// shape, `-?[0-9]+(.[0-9]+)?` with at most 19 significant digits, is read straight from the
    /// bytes into the Decimal Foundation's parser makes (no trailing zero in the mantissa; a test
    /// compares sign, exponent, significand and printing), four times as fast; anything else goes
    /// to that parser, but only when the whole string is a number: Foundation reads the longest
    /// number at the start, so "12.5.3" or "5abc" would become 12.5 or 5 instead of an error.
    public init?(exchangeString: String) {
        if let d = Self.plainDecimal(exchangeString.utf8) { self = d; return }
        // "0" (no funding, no fee: most stored amounts) is Foundation's own reading, taken once.
        if exchangeString.utf8.count == 1, exchangeString.utf8.first == UInt8(ascii: "0") { self = Self.foundationZero; return }
        guard Self.isNumber(exchangeString.utf8), let d = Decimal(string: exchangeString, locale: Self.posix) else { return nil }
        self = d
    }

    /// Foundation's own reading of "0", taken once.
    static let foundationZero = Decimal(string: "0", locale: posix)!

    /// `[+-]?` digits with at most one `.` (a digit on at least one side), then `[eE][+-]?digits`
    /// optionally; nothing before or after.
    static func isNumber(_ bytes: String.UTF8View) -> Bool {
        var i = bytes.startIndex
        func at(_ set: (UInt8) -> Bool) -> Bool { i < bytes.endIndex && set(bytes[i]) }
        func digits() -> Int {
            var n = 0
            while at({ $0 >= 48 && $0 <= 57 }) { n += 1; i = bytes.index(after: i) }
            return n
        }
        if at({ $0 == 43 || $0 == 45 }) { i = bytes.index(after: i) }
        var count = digits()
        if at({ $0 == 46 }) { i = bytes.index(after: i); count += digits() }
        guard count > 0 else { return false }
        if at({ $0 == 101 || $0 == 69 }) {
            i = bytes.index(after: i)
            if at({ $0 == 43 || $0 == 45 }) { i = bytes.index(after: i) }
            guard digits() > 0 else { return false }
        }
        return i == bytes.endIndex
    }

    static func plainDecimal(_ bytes: String.UTF8View) -> Decimal? {
        var mantissa: UInt64 = 0
        var significant = 0, fraction = 0
        var negative = false, dot = false, digitSeen = false, lastWasDot = false
        for (i, b) in bytes.enumerated() {
            switch b {
            case UInt8(ascii: "-") where i == 0:
                negative = true
            case UInt8(ascii: "."):
                guard !dot, digitSeen else { return nil }
                dot = true
                lastWasDot = true
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digitSeen = true
                if dot { fraction += 1 }
                // Leading zeros carry no significant digit (but count as decimals after the dot).
                guard mantissa != 0 || b != UInt8(ascii: "0") else { break }
                significant += 1
                guard significant <= 19 else { return nil }  // 10^19 - 1 < 2^64
                mantissa = mantissa * 10 + UInt64(b - UInt8(ascii: "0"))
            default:
                return nil
            }
            lastWasDot = false
        }
        guard digitSeen, !lastWasDot, fraction <= 100, mantissa != 0 else { return nil }  // zero: Foundation's own reading
        var exponent = -fraction
        while mantissa % 10 == 0 { mantissa /= 10; exponent += 1 }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa))
    }
}
