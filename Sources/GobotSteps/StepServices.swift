import Analysts
import GobotCore
import GobotStore

/// The I/O a step may use besides the database.
public struct StepServices: Sendable {
    public var exchange: (any FuturesExchange)?
    public var analyst: any Analyst

    public init(exchange: (any FuturesExchange)?, analyst: any Analyst) {
        self.exchange = exchange
        self.analyst = analyst
    }
}

/// Services for real runs, chosen by the config.
public enum LiveServices {
    public static func make(config: GobotConfig, db: GobotDatabase, secrets: Secrets, clock: any WallClock) throws -> StepServices {
        StepServices(exchange: nil, analyst: RulesAnalystAdapter())
    }
}
