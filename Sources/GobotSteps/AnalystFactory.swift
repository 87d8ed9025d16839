import Analysts
import BinanceFutures
import GobotCore
import GobotHTTP
import GobotStore

/// Chooses the analyst named by `analyst.kind`.
public enum AnalystFactory {
    /// - Parameter budgetPeriod: one spend bucket for a whole backtest or evaluation (nil: per UTC day).
    public static func make(config: GobotConfig, db: GobotDatabase, secrets: Secrets, clock: any WallClock, budgetPeriod: String? = nil) throws -> any Analyst {
        switch config.analyst.kind {
        case .rules:
            return RulesAnalystAdapter()
        case .vision:
            guard let key = secrets.openAIKey else { throw StepError.missingSecret(name: "OPENAI_API_KEY", why: "for analyst.kind vision") }
            let a = config.analyst
            return VisionAnalyst(settings: .init(baseURL: a.baseURL, model: a.model, detail: a.detail, apiKey: key, apiKeyHeader: a.apiKeyHeader,
                                                 dailyBudgetUSD: a.dailyBudgetUSD, inputUSDPerMillion: a.inputUSDPerMillionTokens,
                                                 outputUSDPerMillion: a.outputUSDPerMillionTokens, maxRetries: a.maxRetries,
                                                 requireTimeframeAgreement: a.requireTimeframeAgreement, budgetPeriod: budgetPeriod),
                                 transport: URLSessionTransport(timeoutSeconds: a.timeoutSeconds), ledger: DatabaseAnalystLedger(db: db))
        }
    }
}
