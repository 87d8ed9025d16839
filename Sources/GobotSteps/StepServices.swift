import Analysts
import Foundation
import BinanceFutures
import GobotCore
import GobotHTTP
import GobotStore
import Notify
import PaperExchange

/// The I/O a step may use besides the database.
public struct StepServices: Sendable {
    public var exchange: (any FuturesExchange)?
    public var analyst: any Analyst
    public var telegram: TelegramClient?

    public init(exchange: (any FuturesExchange)?, analyst: any Analyst, telegram: TelegramClient? = nil) {
        self.exchange = exchange
        self.analyst = analyst
        self.telegram = telegram
    }
}

/// Services for real runs, chosen by the config.
public enum LiveServices {
    public static func make(config: GobotConfig, db: GobotDatabase, secrets: Secrets, clock: any WallClock) throws -> StepServices {
        let c = config.exchange
        let state = DatabaseExchangeState(db: db, breakerThreshold: c.circuitBreakerFailures, breakerCooldownMs: Int64(c.circuitBreakerCooldownSeconds) * 1000)
        let credentials: BinanceClient.Credentials? = {
            guard c.environment != .paper, let key = secrets.binanceKey, let secret = secrets.binanceSecret else { return nil }
            return .init(apiKey: key, secret: secret)
        }()
        // Paper trading reads live public prices from the production API; it never signs a request.
        let base = c.environment == .paper ? (c.baseURL ?? "https://fapi.binance.com") : BinanceEnvironment.baseURL(for: c.environment, override: c.baseURL)
        let client = BinanceClient(baseURL: base, transport: URLSessionTransport(timeoutSeconds: c.requestTimeoutSeconds), credentials: credentials,
                                   state: state, recvWindowMs: c.recvWindowMs, weightBudget: c.weightBudgetPerMinute, nowMs: { clock.nowMs() })
        if clock is ManualClock, c.environment != .paper {
            throw StepError.failed("GOBOT_NOW_MS (a fixed clock for replays) is only allowed with exchange.environment paper")
        }
        let exchange: any FuturesExchange
        if c.environment == .paper, let dir = c.paperDataDir {
            // Each step reads only the rows it asks about (bisecting the files), not the whole recording.
            let market = try ReplayFiles(dir: dir, symbols: config.universe.symbols.isEmpty ? nil : config.universe.symbols)
            let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/exchangeInfo.json")))
            exchange = PaperExchange(db: db, market: market, rules: info.rules, feeRate: c.takerFeeRate, slippageBps: c.slippageBps,
                                     initialBalance: config.trading.initialCapitalUSD, nowMs: { clock.nowMs() })
        } else if c.environment == .paper {
            exchange = PaperExchange(db: db, market: LiveMarket(client: client, universe: config.universe.symbols),
                                     rulesProvider: { try await client.symbolRules(symbols: $0) }, feeRate: c.takerFeeRate, slippageBps: c.slippageBps,
                                     initialBalance: config.trading.initialCapitalUSD, nowMs: { clock.nowMs() })
        } else {
            exchange = client
        }
        var telegram: TelegramClient?
        if config.telegram.enabled, let token = secrets.telegramToken {
            telegram = TelegramClient(baseURL: config.telegram.apiBaseURL, token: token, transport: URLSessionTransport(timeoutSeconds: 15))
        }
        return StepServices(exchange: exchange, analyst: try AnalystFactory.make(config: config, db: db, secrets: secrets, clock: clock),
                            telegram: telegram)
    }
}
