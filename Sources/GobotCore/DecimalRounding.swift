import Foundation

extension Decimal {
    /// Rounds to `scale` decimal places, half away from zero; for display, never for order sizes.
    public func rounded(scale: Int) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, .plain)
        return result
    }

    /// The largest multiple of `step` not above `self` (for quantities: never size up).
    public func floored(toMultipleOf step: Decimal) -> Decimal {
        guard step > 0 else { return self }
        var quotient = self / step
        var whole = Decimal()
        NSDecimalRound(&whole, &quotient, 0, .down)
        return whole * step
    }

    /// The smallest multiple of `step` not below `self`.
    public func ceiled(toMultipleOf step: Decimal) -> Decimal {
        guard step > 0 else { return self }
        var quotient = self / step
        var whole = Decimal()
        NSDecimalRound(&whole, &quotient, 0, .up)
        return whole * step
    }

    /// The multiple of `step` nearest to `self` (for prices on the tick grid).
    public func roundedToNearest(multipleOf step: Decimal) -> Decimal {
        guard step > 0 else { return self }
        var quotient = self / step
        var whole = Decimal()
        NSDecimalRound(&whole, &quotient, 0, .plain)
        return whole * step
    }

    public var doubleValue: Double { NSDecimalNumber(decimal: self).doubleValue }

    /// A plain string without exponent, as Binance expects in query strings.
    public var plainString: String {
        var copy = self
        return NSDecimalString(&copy, Locale(identifier: "en_US_POSIX"))
    }

    public init?(exchangeString: String) {
        guard let d = Decimal(string: exchangeString, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        self = d
    }
}
