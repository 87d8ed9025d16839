import GobotCore

/// REST base URLs. Demo trading (demo-fapi) is the current testnet; keys do not cross over.
public enum BinanceEnvironment {
    public static func baseURL(for environment: ExchangeEnvironment, override: String?) -> String {
        if let override { return override }
        switch environment {
        case .live: return "https://fapi.binance.com"
        case .demo, .paper: return "https://demo-fapi.binance.com"
        }
    }
}
