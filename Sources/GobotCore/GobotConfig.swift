import Foundation

/// Where orders go. `paper` never touches an exchange account.
public enum ExchangeEnvironment: String, Sendable, Equatable, CaseIterable {
    case live, demo, paper
}

/// Which analyst turns charts into a signal.
public enum AnalystKind: String, Sendable, Equatable, CaseIterable {
    case rules, vision
}

/// The whole configuration, with the defaults of the original spec.
///
/// Secrets are deliberately absent: they come from the environment only (see ``Secrets``).
public struct GobotConfig: Sendable, Equatable {
    public struct Trading: Sendable, Equatable {
        public var initialCapitalUSD: Decimal = 100
        public var maxPositionUSD: Decimal = 10
        /// The seed's `daily_trade_limit`: the most that may be lost in one UTC day, in USD.
        public var dailyLossLimitUSD: Decimal = 30
        public var stopLossPercent: Decimal = 2
        public var takeProfitPercent: Decimal = 4
        public var minConfidence: Double = 0.75
        public var maxTradesPerDay: Int = 3
        public var symbolCooldownMinutes: Int = 180
    }

    public struct Risk: Sendable, Equatable {
        public var weeklyLossLimitUSD: Decimal = 50
        /// Sum of entry notionals opened in one UTC day.
        public var dailyExposureLimitUSD: Decimal = 30
        public var maxOpenPositions: Int = 1
        public var minRewardRisk: Decimal = 2
        /// Fraction of the full Kelly stake actually used.
        public var kellyFraction: Double = 0.25
        /// Win rate assumed before there is history; weighted as `kellyPriorTrades` trades.
        public var kellyPriorWinRate: Double = 0.45
        public var kellyPriorTrades: Int = 20
        public var maxConsecutiveLosses: Int = 3
        public var breakerCooldownMinutes: Int = 240
        public var edgeBreaker = EdgeBreaker()
    }

    /// Stops entries when the labelled record shows the analyst does not beat the break-even hit rate.
    public struct EdgeBreaker: Sendable, Equatable {
        /// nil: on for live and demo, off for paper.
        public var enabled: Bool?
        public var minLabelledSignals: Int = 50
        /// How long after a signal its target or stop may be reached.
        public var horizonHours: Int = 24
    }

    public struct Execution: Sendable, Equatable {
        public var autoExecute: Bool = true
        public var leverage: Int = 1
        public var marginType: String = "ISOLATED"
        public var signalMaxAgeMinutes: Int = 10
        /// Entries are refused while the host clock is further than this from the exchange's.
        public var maxClockSkewMs: Int = 1000
    }

    public struct Emergency: Sendable, Equatable {
        public var killSwitchEnabled: Bool = true
        public var killSwitchFile: String = "/tmp/gobot_kill_switch"
    }

    public struct Exchange: Sendable, Equatable {
        public var environment: ExchangeEnvironment = .paper
        public var baseURL: String? = nil
        /// Paper only: replay candles from this folder (klines/SYMBOL-1m.csv) instead of live prices.
        public var paperDataDir: String? = nil
        public var recvWindowMs: Int = 5000
        public var requestTimeoutSeconds: Double = 10
        /// Share of the exchange's 2400/min request weight gobot allows itself.
        public var weightBudgetPerMinute: Int = 1200
        public var takerFeeRate: Decimal = Decimal(string: "0.0005")!
        /// Simulated exchanges only: slippage of market fills and triggered stops/targets, in basis
        /// points of the price; at least one tick is always charged.
        public var slippageBps: Decimal = FillRules.defaultSlippageBps
        public var circuitBreakerFailures: Int = 5
        public var circuitBreakerCooldownSeconds: Int = 300
    }

    public struct Universe: Sendable, Equatable {
        /// Explicit symbols; when empty, every TRADING USDT perpetual above the volume floor.
        public var symbols: [String] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"]
        public var minQuoteVolumeUSD: Decimal = 50_000_000
        public var maxSymbols: Int = 5
        public var candidateMaxAgeMinutes: Int = 10
    }

    public struct Analyst: Sendable, Equatable {
        public var kind: AnalystKind = .rules
        public var baseURL: String = "https://api.openai.com/v1"
        public var model: String = "gpt-4o-mini"
        public var detail: String = "low"
        public var timeoutSeconds: Double = 60
        /// `authorization` sends `Authorization: Bearer`; `api-key` is the Azure variant.
        public var apiKeyHeader: String = "authorization"
        public var dailyBudgetUSD: Decimal = 1
        public var inputUSDPerMillionTokens: Decimal = Decimal(string: "0.15")!
        public var outputUSDPerMillionTokens: Decimal = Decimal(string: "0.60")!
        public var maxRetries: Int = 3
        /// Ask even when the answer cannot lead to a trade (for scorecard labels; costs money).
        public var askWhenBlocked: Bool = false
        /// A direction the model itself says the timeframes do not agree on becomes `none`.
        public var requireTimeframeAgreement: Bool = true
    }

    public struct Telegram: Sendable, Equatable {
        public var enabled: Bool = false
        public var apiBaseURL: String = "https://api.telegram.org"
        public var pollCommands: Bool = true
        public var maxCommandAgeSeconds: Int = 600
        /// Telegram user ids (`message.from.id`) whose commands are obeyed; empty obeys nobody.
        public var allowedUserIds: [Int64] = []
    }

    public struct State: Sendable, Equatable {
        public var dir: String = "state"
        /// Entries are refused below this much free space on the state filesystem, so the
        /// stop's intent row can always be written after a fill.
        public var minFreeMB: Int = 50
        /// Daily backups of the database kept in `state/backups/` (0 turns backups off).
        public var backupKeep: Int = 7
    }

    /// How often each step is expected to succeed (defaults match cron/), and the optional
    /// dead-man's-switch ping, so a cron job that stops running is noticed.
    public struct Health: Sendable, Equatable {
        public var scanIntervalMinutes: Int = 5
        public var analyzeIntervalMinutes: Int = 5
        public var tradeIntervalMinutes: Int = 5
        public var reconcileIntervalMinutes: Int = 2
        public var reportIntervalMinutes: Int = 1440
        public var telegramIntervalMinutes: Int = 1
        /// A step is STALE when its last success is older than this many intervals.
        public var staleAfterIntervals: Int = 3
        /// healthchecks.io-style URL; `{step}` is replaced by the step name. Nil: no pings.
        public var pingURL: String? = nil
        public var pingTimeoutSeconds: Double = 5
    }

    public var trading = Trading()
    public var risk = Risk()
    public var execution = Execution()
    public var emergency = Emergency()
    public var exchange = Exchange()
    public var universe = Universe()
    public var analyst = Analyst()
    public var telegram = Telegram()
    public var state = State()
    public var health = Health()

    public init() {}
}
