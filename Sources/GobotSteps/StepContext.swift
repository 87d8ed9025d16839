import GobotCore
import GobotStore

/// Everything a step may touch, built once by the runner (or by a test, or by the backtest).
public struct StepContext: Sendable {
    public var config: GobotConfig
    public var db: GobotDatabase
    public var paths: StepPaths
    public var clock: any WallClock
    public var secrets: Secrets
    public var step: StepName

    public init(config: GobotConfig, db: GobotDatabase, paths: StepPaths, clock: any WallClock, secrets: Secrets, step: StepName) {
        self.config = config
        self.db = db
        self.paths = paths
        self.clock = clock
        self.secrets = secrets
        self.step = step
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
