import Foundation
import GobotCore
import Testing
@testable import GobotSteps

@Suite struct ConfigLoaderTests {
    /// The original spec's config, exactly as it was handed over.
    static let seed = """
        trading:
          initial_capital_usd: 100
          max_position_usd: 10
          daily_trade_limit: 30
          stop_loss_percent: 2.0
          take_profit_percent: 4.0
          min_confidence_threshold: 0.75
          max_trades_per_day: 3
          symbol_cooldown_minutes: 180
        execution:
          auto_execute: true
        emergency:
          kill_switch_enabled: true
          kill_switch_file: /tmp/gobot_kill_switch
        """

    @Test func theSeedConfigLoadsVerbatim() throws {
        let c = try ConfigLoader.parse(Self.seed, file: "seed.yaml")
        #expect(c.trading.initialCapitalUSD == 100)
        #expect(c.trading.maxPositionUSD == 10)
        #expect(c.trading.dailyLossLimitUSD == 30)
        #expect(c.trading.stopLossPercent == 2)
        #expect(c.trading.takeProfitPercent == 4)
        #expect(c.trading.minConfidence == 0.75)
        #expect(c.trading.maxTradesPerDay == 3)
        #expect(c.trading.symbolCooldownMinutes == 180)
        #expect(c.execution.autoExecute)
        #expect(c.emergency.killSwitchEnabled)
        #expect(c.emergency.killSwitchFile == "/tmp/gobot_kill_switch")
    }

    @Test func theConfigGobotInitWritesIsValidAndMatchesTheDefaults() throws {
        #expect(try ConfigLoader.parse(DefaultConfig.yaml, file: "default.yaml") == GobotConfig())
    }

    @Test func everyProblemIsReportedWithLineKeyPathAndRange() {
        let text = """
            trading:
              max_position_usd: -5
              min_confidence_threshold: 1.5
              max_trades_per_dya: 3
            exchange:
              environment: mainnet
            universe:
              symbols: [BTCUSDT, btc]
            """
        #expect(throws: ConfigError.invalid(file: "bad.yaml", problems: [
            ConfigProblem(path: "trading.max_position_usd", line: 2, message: "must be a number from 1 to 1000000, got \"-5\""),
            ConfigProblem(path: "trading.min_confidence_threshold", line: 3, message: "must be a number from 0.0 to 1.0, got \"1.5\""),
            ConfigProblem(path: "trading.max_trades_per_dya", line: 4, message: "unknown key; did you mean 'trading.max_trades_per_day'?"),
            ConfigProblem(path: "exchange.environment", line: 6, message: "must be one of live, demo, paper, got \"mainnet\""),
            ConfigProblem(path: "universe.symbols", line: 8, message: "must be a list of symbols like BTCUSDT; \"btc\" is not an upper-case symbol"),
        ])) {
            try ConfigLoader.parse(text, file: "bad.yaml")
        }
    }

    @Test func brokenYAMLNamesTheLine() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("trading:\n  a: [1, 2\n", file: "x.yaml") }
        do {
            _ = try ConfigLoader.parse("trading:\n  max_position_usd: 10\n bad indent: 1\n", file: "x.yaml")
            Issue.record("expected a syntax error")
        } catch {
            guard case .syntax(let file, let line, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file == "x.yaml")
            #expect(line == 3)
        }
    }

    @Test func missingFileSaysHowToCreateOne() {
        #expect(throws: ConfigError.unreadable(file: "/nonexistent/gobot.yaml", reason: "no such file (create one with `gobot init`)")) {
            try ConfigLoader.load(path: "/nonexistent/gobot.yaml")
        }
    }
}

@Suite struct SecretsTests {
    @Test func secretsAreShownRedactedAndScrubbedFromText() {
        let s = Secrets(environment: ["BINANCE_API_KEY": "abcdefghijklmnopqrstuvwxyz123456", "BINANCE_API_SECRET": "s3cr3t-value-0123456789"])
        #expect(s.redactedLines.contains("BINANCE_API_KEY: set (32 chars, ...56)"))
        #expect(s.redactedLines.contains("OPENAI_API_KEY: (not set)"))
        #expect(!s.redactedLines.joined().contains("abcdefghijkl"))
        #expect(s.scrub("failed with key abcdefghijklmnopqrstuvwxyz123456") == "failed with key [REDACTED]")
    }

    @Test func liveEnvironmentWithoutKeysIsFlagged() {
        var c = GobotConfig()
        c.exchange.environment = .live
        #expect(SecretRequirements.missing(config: c, secrets: Secrets(environment: [:])).count == 2)
        c.exchange.environment = .paper
        #expect(SecretRequirements.missing(config: c, secrets: Secrets(environment: [:])).isEmpty)
    }
}
