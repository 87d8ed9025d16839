import Analysts
import GobotCore
import GobotStore
import Notify

/// Everything a step may touch, built once by the runner (or by a test, or by the backtest).
public struct StepContext: Sendable {
    public var config: GobotConfig
    public var db: GobotDatabase
    public var paths: StepPaths
    public var clock: any WallClock
    public var secrets: Secrets
    public var step: StepName
    /// Nil when the configuration cannot reach an exchange (the step then says why).
    public var exchange: (any FuturesExchange)?
    public var analyst: any Analyst
    /// Nil unless telegram.enabled and TELEGRAM_TOKEN is set.
    public var telegram: TelegramClient?
    /// Whether charts are written to `state/charts/` (off in backtests, which would write thousands).
    public var saveCharts: Bool = true
    /// Pauses between look-ups of an order whose answer was lost (within the step's time budget).
    public var lookupDelaysMs: [Int64] = [500, 1_000, 2_000]
    /// Set when SIGTERM/SIGINT asked the process to stop: open no new risk, finish protecting.
    public var stop: StopSignal = StopSignal()

    public init(config: GobotConfig, db: GobotDatabase, paths: StepPaths, clock: any WallClock, secrets: Secrets, step: StepName,
                exchange: (any FuturesExchange)?, analyst: any Analyst = RulesAnalystAdapter(), telegram: TelegramClient? = nil) {
        self.config = config
        self.db = db
        self.paths = paths
        self.clock = clock
        self.secrets = secrets
        self.step = step
        self.exchange = exchange
        self.analyst = analyst
        self.telegram = telegram
    }

    public func requireExchange() throws -> any FuturesExchange {
        guard let exchange else {
            throw StepError.failed("no exchange is available for exchange.environment \(config.exchange.environment.rawValue): the Binance client is not wired into the CLI yet; `gobot backtest` runs the chain offline")
        }
        return exchange
    }

    public var nowMs: Int64 { clock.nowMs() }
}

/// What a step reports when it finishes normally.
public struct StepReport: Sendable, Equatable {
    public var outcome: String
    public var message: String
    public var exit: StepExit

    public init(outcome: String = "ok", message: String, exit: StepExit = .ok) {
        self.outcome = outcome
        self.message = message
        self.exit = exit
    }
}
