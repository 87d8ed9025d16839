import Foundation

/// The allowed keys of the configuration file, their types and ranges.
///
/// One table drives decoding, validation, the "allowed range" in messages and the unknown-key
/// suggestions, so they cannot drift apart.
public enum ConfigSchema {
    enum Kind: Sendable {
        case decimal(min: Decimal, max: Decimal)
        case fraction(min: Double, max: Double)
        case integer(min: Int, max: Int)
        case bool
        case choice([String])
        case text
        case optionalURL
        case symbols
        case userIds

        var allowed: String {
            switch self {
            case .decimal(let lo, let hi): "a number from \(lo) to \(hi)"
            case .fraction(let lo, let hi): "a number from \(lo) to \(hi)"
            case .integer(let lo, let hi): "a whole number from \(lo) to \(hi)"
            case .bool: "true or false"
            case .choice(let options): "one of \(options.joined(separator: ", "))"
            case .text: "a non-empty string"
            case .optionalURL: "an http(s) URL"
            case .symbols: "a list of symbols like BTCUSDT"
            case .userIds: "a list of Telegram user ids like [123456789]"
            }
        }
    }

    enum Value {
        case decimal(Decimal), fraction(Double), integer(Int), bool(Bool), text(String), list([String]), ids([Int64]), none
    }

    struct Field: Sendable {
        let path: String
        let kind: Kind
        let apply: @Sendable (inout GobotConfig, Value) -> Void
    }

    // swiftlint:disable function_body_length
    static let fields: [Field] = [
        Field(path: "trading.initial_capital_usd", kind: .decimal(min: 1, max: 10_000_000)) { c, v in c.trading.initialCapitalUSD = v.decimal },
        Field(path: "trading.max_position_usd", kind: .decimal(min: 1, max: 1_000_000)) { c, v in c.trading.maxPositionUSD = v.decimal },
        Field(path: "trading.daily_trade_limit", kind: .decimal(min: 0, max: 1_000_000)) { c, v in c.trading.dailyLossLimitUSD = v.decimal },
        Field(path: "trading.stop_loss_percent", kind: .decimal(min: Decimal(string: "0.1")!, max: 50)) { c, v in c.trading.stopLossPercent = v.decimal },
        Field(path: "trading.take_profit_percent", kind: .decimal(min: Decimal(string: "0.1")!, max: 500)) { c, v in c.trading.takeProfitPercent = v.decimal },
        Field(path: "trading.min_confidence_threshold", kind: .fraction(min: 0, max: 1)) { c, v in c.trading.minConfidence = v.fraction },
        Field(path: "trading.max_trades_per_day", kind: .integer(min: 0, max: 1000)) { c, v in c.trading.maxTradesPerDay = v.integer },
        Field(path: "trading.symbol_cooldown_minutes", kind: .integer(min: 0, max: 100_000)) { c, v in c.trading.symbolCooldownMinutes = v.integer },

        Field(path: "risk.weekly_loss_limit_usd", kind: .decimal(min: 0, max: 10_000_000)) { c, v in c.risk.weeklyLossLimitUSD = v.decimal },
        Field(path: "risk.daily_exposure_limit_usd", kind: .decimal(min: 0, max: 10_000_000)) { c, v in c.risk.dailyExposureLimitUSD = v.decimal },
        Field(path: "risk.max_open_positions", kind: .integer(min: 0, max: 100)) { c, v in c.risk.maxOpenPositions = v.integer },
        Field(path: "risk.min_reward_risk", kind: .decimal(min: 1, max: 20)) { c, v in c.risk.minRewardRisk = v.decimal },
        Field(path: "risk.kelly_fraction", kind: .fraction(min: 0.01, max: 1)) { c, v in c.risk.kellyFraction = v.fraction },
        Field(path: "risk.kelly_prior_win_rate", kind: .fraction(min: 0.01, max: 0.99)) { c, v in c.risk.kellyPriorWinRate = v.fraction },
        Field(path: "risk.kelly_prior_trades", kind: .integer(min: 0, max: 10_000)) { c, v in c.risk.kellyPriorTrades = v.integer },
        Field(path: "risk.max_consecutive_losses", kind: .integer(min: 1, max: 100)) { c, v in c.risk.maxConsecutiveLosses = v.integer },
        Field(path: "risk.breaker_cooldown_minutes", kind: .integer(min: 1, max: 100_000)) { c, v in c.risk.breakerCooldownMinutes = v.integer },
        Field(path: "analyst.ask_when_blocked", kind: .bool) { c, v in c.analyst.askWhenBlocked = v.bool },
        Field(path: "analyst.require_timeframe_agreement", kind: .bool) { c, v in c.analyst.requireTimeframeAgreement = v.bool },
        Field(path: "risk.edge_breaker.enabled", kind: .bool) { c, v in c.risk.edgeBreaker.enabled = v.bool },
        Field(path: "risk.edge_breaker.min_labelled_signals", kind: .integer(min: 10, max: 100_000)) { c, v in c.risk.edgeBreaker.minLabelledSignals = v.integer },
        Field(path: "risk.edge_breaker.horizon_hours", kind: .integer(min: 1, max: 24)) { c, v in c.risk.edgeBreaker.horizonHours = v.integer },

        Field(path: "execution.auto_execute", kind: .bool) { c, v in c.execution.autoExecute = v.bool },
        Field(path: "execution.leverage", kind: .integer(min: 1, max: 20)) { c, v in c.execution.leverage = v.integer },
        Field(path: "execution.margin_type", kind: .choice(["ISOLATED", "CROSSED"])) { c, v in c.execution.marginType = v.text },
        Field(path: "execution.signal_max_age_minutes", kind: .integer(min: 1, max: 1440)) { c, v in c.execution.signalMaxAgeMinutes = v.integer },
        Field(path: "execution.max_clock_skew_ms", kind: .integer(min: 100, max: 60_000)) { c, v in c.execution.maxClockSkewMs = v.integer },

        Field(path: "emergency.kill_switch_enabled", kind: .bool) { c, v in c.emergency.killSwitchEnabled = v.bool },
        Field(path: "emergency.kill_switch_file", kind: .text) { c, v in c.emergency.killSwitchFile = v.text },

        Field(path: "exchange.environment", kind: .choice(ExchangeEnvironment.allCases.map(\.rawValue))) { c, v in
            c.exchange.environment = ExchangeEnvironment(rawValue: v.text) ?? .paper
        },
        Field(path: "exchange.base_url", kind: .optionalURL) { c, v in c.exchange.baseURL = v.optionalText },
        Field(path: "exchange.paper_data_dir", kind: .text) { c, v in c.exchange.paperDataDir = v.text },
        Field(path: "exchange.recv_window_ms", kind: .integer(min: 1000, max: 60_000)) { c, v in c.exchange.recvWindowMs = v.integer },
        Field(path: "exchange.request_timeout_seconds", kind: .fraction(min: 1, max: 120)) { c, v in c.exchange.requestTimeoutSeconds = v.fraction },
        Field(path: "exchange.weight_budget_per_minute", kind: .integer(min: 10, max: 2400)) { c, v in c.exchange.weightBudgetPerMinute = v.integer },
        Field(path: "exchange.taker_fee_rate", kind: .decimal(min: 0, max: Decimal(string: "0.01")!)) { c, v in c.exchange.takerFeeRate = v.decimal },
        Field(path: "exchange.slippage_bps", kind: .decimal(min: 0, max: 500)) { c, v in c.exchange.slippageBps = v.decimal },
        Field(path: "exchange.circuit_breaker_failures", kind: .integer(min: 1, max: 100)) { c, v in c.exchange.circuitBreakerFailures = v.integer },
        Field(path: "exchange.circuit_breaker_cooldown_seconds", kind: .integer(min: 1, max: 86_400)) { c, v in c.exchange.circuitBreakerCooldownSeconds = v.integer },

        Field(path: "universe.symbols", kind: .symbols) { c, v in c.universe.symbols = v.list },
        Field(path: "universe.min_quote_volume_usd", kind: .decimal(min: 0, max: 1_000_000_000_000)) { c, v in c.universe.minQuoteVolumeUSD = v.decimal },
        Field(path: "universe.max_symbols", kind: .integer(min: 1, max: 200)) { c, v in c.universe.maxSymbols = v.integer },
        Field(path: "universe.candidate_max_age_minutes", kind: .integer(min: 1, max: 1440)) { c, v in c.universe.candidateMaxAgeMinutes = v.integer },

        Field(path: "analyst.kind", kind: .choice(AnalystKind.allCases.map(\.rawValue))) { c, v in c.analyst.kind = AnalystKind(rawValue: v.text) ?? .rules },
        Field(path: "analyst.base_url", kind: .optionalURL) { c, v in if let s = v.optionalText { c.analyst.baseURL = s } },
        Field(path: "analyst.model", kind: .text) { c, v in c.analyst.model = v.text },
        Field(path: "analyst.detail", kind: .choice(["low", "high", "auto"])) { c, v in c.analyst.detail = v.text },
        Field(path: "analyst.timeout_seconds", kind: .fraction(min: 1, max: 600)) { c, v in c.analyst.timeoutSeconds = v.fraction },
        Field(path: "analyst.api_key_header", kind: .choice(["authorization", "api-key"])) { c, v in c.analyst.apiKeyHeader = v.text },
        Field(path: "analyst.daily_budget_usd", kind: .decimal(min: 0, max: 10_000)) { c, v in c.analyst.dailyBudgetUSD = v.decimal },
        Field(path: "analyst.input_usd_per_million_tokens", kind: .decimal(min: 0, max: 1000)) { c, v in c.analyst.inputUSDPerMillionTokens = v.decimal },
        Field(path: "analyst.output_usd_per_million_tokens", kind: .decimal(min: 0, max: 1000)) { c, v in c.analyst.outputUSDPerMillionTokens = v.decimal },
        Field(path: "analyst.max_retries", kind: .integer(min: 0, max: 10)) { c, v in c.analyst.maxRetries = v.integer },

        Field(path: "telegram.enabled", kind: .bool) { c, v in c.telegram.enabled = v.bool },
        Field(path: "telegram.api_base_url", kind: .optionalURL) { c, v in if let s = v.optionalText { c.telegram.apiBaseURL = s } },
        Field(path: "telegram.poll_commands", kind: .bool) { c, v in c.telegram.pollCommands = v.bool },
        Field(path: "telegram.max_command_age_seconds", kind: .integer(min: 10, max: 86_400)) { c, v in c.telegram.maxCommandAgeSeconds = v.integer },
        Field(path: "telegram.allowed_user_ids", kind: .userIds) { c, v in if case .ids(let ids) = v { c.telegram.allowedUserIds = ids } },

        Field(path: "state.dir", kind: .text) { c, v in c.state.dir = v.text },
        Field(path: "state.min_free_mb", kind: .integer(min: 0, max: 1_000_000)) { c, v in c.state.minFreeMB = v.integer },
        Field(path: "state.backup_keep", kind: .integer(min: 0, max: 365)) { c, v in c.state.backupKeep = v.integer },

        Field(path: "health.scan_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.scanIntervalMinutes = v.integer },
        Field(path: "health.analyze_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.analyzeIntervalMinutes = v.integer },
        Field(path: "health.trade_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.tradeIntervalMinutes = v.integer },
        Field(path: "health.reconcile_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.reconcileIntervalMinutes = v.integer },
        Field(path: "health.report_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.reportIntervalMinutes = v.integer },
        Field(path: "health.telegram_interval_minutes", kind: .integer(min: 1, max: 10_080)) { c, v in c.health.telegramIntervalMinutes = v.integer },
        Field(path: "health.stale_after_intervals", kind: .integer(min: 2, max: 100)) { c, v in c.health.staleAfterIntervals = v.integer },
        Field(path: "health.ping_url", kind: .optionalURL) { c, v in c.health.pingURL = v.optionalText },
        Field(path: "health.ping_timeout_seconds", kind: .fraction(min: 1, max: 60)) { c, v in c.health.pingTimeoutSeconds = v.fraction },
    ]
    // swiftlint:enable function_body_length

    static let sections: Set<String> = Set(fields.map { String($0.path.split(separator: ".")[0]) })
}

extension ConfigSchema.Value {
    var decimal: Decimal { if case .decimal(let d) = self { d } else { 0 } }
    var fraction: Double { if case .fraction(let d) = self { d } else { 0 } }
    var integer: Int { if case .integer(let i) = self { i } else { 0 } }
    var bool: Bool { if case .bool(let b) = self { b } else { false } }
    var text: String { if case .text(let s) = self { s } else { "" } }
    var optionalText: String? { if case .text(let s) = self { s } else { nil } }
    var list: [String] { if case .list(let l) = self { l } else { [] } }
}
