import Foundation
import Testing
@testable import GobotCore

/// `Decimal(exchangeString:)` reads the common shape itself; it must make exactly the Decimal
/// Foundation's parser makes (same sign, exponent and significand), or a stored amount could
/// print differently.
struct DecimalParsingTests {
    /// What tells two Decimals apart from outside: sign, exponent, significand, printing.
    static func fields(_ d: Decimal) -> String {
        "\(d.sign) \(d.exponent) \(d.significand) \(d.plainString) \(d.description) \(d.isCanonical)"
    }

    static func foundation(_ s: String) -> Decimal? { Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")) }

    @Test func sameDecimalAsFoundationForTypicalAmounts() {
        let cases = ["1", "-1", "0.1", "-0.5", "123.456000", "1500", "0.00012345", "2.3459", "-0.00000001", "10", "100.0",
                     "99999999999999999.99", "1234567890123456789", "0.1234567890123456789", "-12.30", "65535", "65536",
                     "4294967295", "4294967296", "281474976710655", "281474976710656", "007.50", "-0.0100"]
        for s in cases {
            let fast = Decimal.plainDecimal(s.utf8)
            #expect(fast != nil, "\(s) takes the fast path")
            #expect(Decimal(exchangeString: s).map(Self.fields) == Self.foundation(s).map(Self.fields), "\(s)")
        }
    }

    @Test func otherShapesGoToFoundation() {
        for s in ["0", "0.000", "-0", "12345678901234567890", "1e5", "1.", ".5", "+1", "2.5E-3"] {
            #expect(Decimal.plainDecimal(s.utf8) == nil, "\(s) is left to Foundation")
            #expect(Decimal(exchangeString: s) != nil, "\(s)")
            #expect(Decimal(exchangeString: s).map(Self.fields) == Self.foundation(s).map(Self.fields), "\(s)")
        }
    }

    /// Foundation reads the longest number at the start of a string; an amount with anything
    /// else in it is not an amount.
    @Test func aStringThatIsNotWhollyANumberIsNoAmount() {
        for s in ["", "-", ".", "abc", "1.2.3", "12.5.3", "5abc", "--1", " 1", "1 ", "1,5", "1e", "1e+", "e5", "0x10", "NaN", "1.5\n"] {
            #expect(Decimal(exchangeString: s) == nil, "\(s)")
        }
        #expect(Self.foundation("12.5.3") != nil)  // what the check keeps out
    }

    @Test func sameDecimalOnRandomStrings() {
        var state: UInt64 = 7
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        for _ in 0..<20_000 {
            var s = next(4) == 0 ? "-" : ""
            let intDigits = Int(next(12)) + 1, fracDigits = Int(next(12))
            for k in 0..<intDigits { s.append(Character(String(k == 0 && intDigits > 1 && next(3) == 0 ? 0 : next(10)))) }
            if fracDigits > 0 {
                s.append(".")
                for _ in 0..<fracDigits { s.append(Character(String(next(10)))) }
            }
            #expect(Decimal(exchangeString: s).map(Self.fields) == Self.foundation(s).map(Self.fields), "\(s)")
            #expect(Decimal(exchangeString: s)?.plainString == Self.foundation(s)?.plainString, "\(s)")
        }
    }
}
