import Foundation
import Testing
@testable import GobotCore

@Suite struct ConfigDecoderTests {
    func mapping(_ pairs: [(String, ConfigNode)], line: Int = 1) -> ConfigNode {
        .mapping(pairs.enumerated().map { ConfigEntry(key: $1.0, value: $1.1, line: line + $0) }, line: line)
    }

    @Test func emptyDocumentGivesTheSpecDefaults() throws {
        let c = try ConfigDecoder.decode(.null(line: 1), file: "c.yaml")
        #expect(c.trading.initialCapitalUSD == 100)
        #expect(c.trading.maxPositionUSD == 10)
        #expect(c.trading.stopLossPercent == 2)
        #expect(c.trading.takeProfitPercent == 4)
        #expect(c.trading.minConfidence == 0.75)
        #expect(c.trading.maxTradesPerDay == 3)
        #expect(c.trading.dailyLossLimitUSD == 30)
        #expect(c.risk.weeklyLossLimitUSD == 50)
        #expect(c.trading.symbolCooldownMinutes == 180)
        #expect(c.emergency.killSwitchFile == "/tmp/gobot_kill_switch")
        #expect(c.exchange.environment == .paper)
    }

    @Test func rewardRiskBelowMinimumIsRejectedWithTheComputedRatio() {
        let root = mapping([("trading", mapping([("take_profit_percent", .scalar("3", line: 2))], line: 1))])
        #expect(throws: ConfigError.invalid(file: "c.yaml", problems: [
            ConfigProblem(path: "trading.take_profit_percent", line: 2,
                          message: "reward:risk is 1.5 (take_profit_percent / stop_loss_percent); it must be at least risk.min_reward_risk = 2"),
        ])) {
            try ConfigDecoder.decode(root, file: "c.yaml")
        }
    }

    @Test func sectionThatIsNotAMappingIsNamed() {
        let root = mapping([("trading", .scalar("yes", line: 1))])
        #expect(throws: ConfigError.invalid(file: "c.yaml", problems: [
            ConfigProblem(path: "trading", line: 1, message: "must be a mapping of settings, got \"yes\""),
        ])) {
            try ConfigDecoder.decode(root, file: "c.yaml")
        }
    }

    @Test(arguments: [
        ("stop_loss_percnt", "stop_loss_percent"),
        ("max_trade_per_day", "max_trades_per_day"),
        ("initial_capital", "initial_capital_usd"),
    ])
    func misspeltKeysGetASuggestion(typo: String, meant: String) {
        #expect(ConfigDecoder.closest(typo, in: ConfigSchema.fields.compactMap {
            $0.path.hasPrefix("trading.") ? String($0.path.dropFirst(8)) : nil
        }) == meant)
    }
}

@Suite struct DecimalRoundingTests {
    @Test(arguments: [
        ("0.0123456", "0.001", "0.012"),
        ("5", "1", "5"),
        ("0.999", "0.1", "0.9"),
        ("123.456", "0.01", "123.45"),
    ])
    func flooringNeverSizesUp(value: String, step: String, expected: String) {
        #expect(Decimal(string: value)!.floored(toMultipleOf: Decimal(string: step)!) == Decimal(string: expected)!)
    }

    @Test(arguments: [
        ("1.37", "0.25", "1.25", "1.5", "1.25"),     // not a power of ten: the division path
        ("7.3", "0.5", "7", "7.5", "7.5"),
        ("2.34567", "0.001", "2.345", "2.346", "2.346"),  // power of ten: the rounding path
        ("0.1000", "0.0100", "0.1", "0.1", "0.1"),
        ("105000.05", "0.1", "105000", "105000.1", "105000.1"),
    ])
    func bothRoundingPathsAgree(value: String, step: String, floor: String, ceil: String, nearest: String) {
        let v = Decimal(string: value)!, s = Decimal(string: step)!
        #expect(v.floored(toMultipleOf: s) == Decimal(string: floor)!)
        #expect(v.ceiled(toMultipleOf: s) == Decimal(string: ceil)!)
        #expect(v.roundedToNearest(multipleOf: s) == Decimal(string: nearest)!)
    }

    @Test func pricesRoundToTheNearestTick() {
        #expect(Decimal(string: "101.237")!.roundedToNearest(multipleOf: Decimal(string: "0.01")!) == Decimal(string: "101.24")!)
        #expect(Decimal(string: "0.5")!.plainString == "0.5")
    }
}
