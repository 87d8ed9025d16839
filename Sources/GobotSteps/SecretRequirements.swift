import GobotCore

/// Which secrets a configuration needs, so a missing one is named before a step depends on it.
public enum SecretRequirements {
    public static func missing(config: GobotConfig, secrets: Secrets) -> [String] {
        var out: [String] = []
        if config.exchange.environment != .paper {
            if secrets.binanceKey == nil { out.append("BINANCE_API_KEY is not set; exchange.environment \(config.exchange.environment.rawValue) needs it") }
            if secrets.binanceSecret == nil { out.append("BINANCE_API_SECRET is not set; exchange.environment \(config.exchange.environment.rawValue) needs it") }
        }
        if config.analyst.kind == .vision, secrets.openAIKey == nil {
            out.append("OPENAI_API_KEY is not set; analyst.kind vision needs it")
        }
        if config.telegram.enabled {
            if secrets.telegramToken == nil { out.append("TELEGRAM_TOKEN is not set; telegram.enabled needs it") }
            if secrets.telegramChatId == nil { out.append("TELEGRAM_CHAT_ID is not set; telegram.enabled needs it") }
        }
        return out
    }
}
