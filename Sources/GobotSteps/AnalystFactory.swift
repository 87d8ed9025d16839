import Analysts
import GobotCore
import GobotStore

/// Chooses the analyst named by `analyst.kind`.
enum AnalystFactory {
    static func make(config: GobotConfig, db: GobotDatabase, secrets: Secrets, clock: any WallClock) throws -> any Analyst {
        switch config.analyst.kind {
        case .rules: return RulesAnalystAdapter()
        case .vision:
            throw StepError.missingSecret(name: "OPENAI_API_KEY", why: "for analyst.kind vision (the vision analyst is not built yet)")
        }
    }
}
