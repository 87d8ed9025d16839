import Foundation
import Testing
@testable import GobotCore

/// The shortcut's integer reward:risk must be the gate's (ProtectivePrices) whenever it gives one.
@Suite struct GateShortcutTests {
    @Test func integerRewardRiskIsTheGatesForEveryPriceItAnswers() throws {
        var state: UInt64 = 7
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var answered = 0, asked = 0
        for (stop, target) in [("2", "4"), ("0.5", "1"), ("1.5", "3.25"), ("0.3", "0.61")] {
            var config = GobotConfig()
            config.trading.stopLossPercent = Decimal(string: stop)!
            config.trading.takeProfitPercent = Decimal(string: target)!
            for (tick, scale, low, high) in [("0.0001", 4, 0.05, 5.0), ("0.01", 2, 10.0, 900.0), ("0.1", 1, 1_000.0, 120_000.0), ("1", 0, 500.0, 90_000.0)] {
                let rules = SymbolRules(symbol: "X", tickSize: Decimal(string: tick)!, stepSize: 1, minQty: 1, minNotional: 5)
                let shortcut = try #require(GateShortcut(config: config, rules: [rules]))
                #expect(shortcut.tickScale[0] == scale)
                for i in 0..<600 {
                    // Prices on the tick grid, and (every third) with one more decimal than the tick.
                    let extra = i % 3 == 0 ? 10.0 : 1.0
                    let p10 = pow(10.0, Double(scale)) * extra
                    let price = ((low + next() * (high - low)) * p10).rounded() / p10
                    for side in [PositionSide.long, .short] {
                        asked += 1
                        guard let rr4 = shortcut.rewardRisk4(side: side, price: price, tickScale: scale) else { continue }
                        answered += 1
                        let gate = ProtectivePrices.compute(side: side, entry: Decimal(price: price)!, stopPercent: config.trading.stopLossPercent,
                                                            targetPercent: config.trading.takeProfitPercent, tickSize: rules.tickSize)
                        #expect(gate.rewardRisk == Decimal(rr4) / 10_000, "\(side) at \(price), tick \(tick), \(stop)/\(target)")
                    }
                }
            }
        }
        // Only prices within 1e-9 of a rounding half are left to the gate.
        #expect(answered > asked * 99 / 100)
    }

    @Test func pricesAreTheDecimalsTheyPrintAs() {
        for x in [2.3459, 0.0001, 43521.37, 1.0, 100_000.0, 0.123456789] {
            let parts = GateShortcut.decimalParts(x)
            #expect(parts != nil)
            if let parts { #expect(Decimal(parts.m) / pow(Decimal(10), parts.d) == Decimal(price: x)!) }
        }
        #expect(GateShortcut.decimalParts(0.00001) == nil)  // printed with an exponent
        #expect(GateShortcut.decimalParts(-1) == nil)
    }
}
