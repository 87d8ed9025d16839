import Foundation

/// Everything the gate needs, read from the database right before an entry.
public struct RiskState: Sendable, Equatable {
    public var nowMs: Int64
    public var tradesToday: Int
    /// Realized P&L (after fees and funding) since 00:00 UTC; a loss is negative.
    public var pnlTodayUSD: Decimal
    /// Realized P&L since Monday 00:00 UTC.
    public var pnlWeekUSD: Decimal
    public var exposureTodayUSD: Decimal
    public var openPositions: Int
    public var symbolHasPosition: Bool
    public var lastEntryOnSymbolMs: Int64?
    public var openBreakers: [String]
    public var halted: Bool
    /// Capital plus all realized P&L; Kelly stakes a fraction of this.
    public var equityUSD: Decimal
    /// Free space on the state filesystem in MiB, measured by the step (nil: not measured).
    public var stateFreeMB: Int64? = nil
    /// Exchange time minus host time, as last synced by the exchange client (nil: never synced).
    public var clockSkewMs: Int64? = nil
    /// How long that measurement's `/time` request took: signed timestamps may lag the exchange by
    /// that much, so a slow one leaves the orders after an entry (the stop) at risk of -1021.
    public var clockRoundTripMs: Int64? = nil

    public init(nowMs: Int64, equityUSD: Decimal = 100, tradesToday: Int = 0, pnlTodayUSD: Decimal = 0, pnlWeekUSD: Decimal = 0, exposureTodayUSD: Decimal = 0,
                openPositions: Int = 0, symbolHasPosition: Bool = false, lastEntryOnSymbolMs: Int64? = nil,
                openBreakers: [String] = [], halted: Bool = false) {
        self.nowMs = nowMs
        self.tradesToday = tradesToday
        self.pnlTodayUSD = pnlTodayUSD
        self.pnlWeekUSD = pnlWeekUSD
        self.exposureTodayUSD = exposureTodayUSD
        self.openPositions = openPositions
        self.symbolHasPosition = symbolHasPosition
        self.lastEntryOnSymbolMs = lastEntryOnSymbolMs
        self.openBreakers = openBreakers
        self.halted = halted
        self.equityUSD = equityUSD
    }
}

/// Why the gate said no. Each is stored with the signal.
public enum RiskRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case noDirection
    case lowConfidence(Double, minimum: Double)
    case rewardRiskTooLow(Decimal, minimum: Decimal)
    case tradesPerDay(count: Int, limit: Int)
    case dailyLoss(pnl: Decimal, limit: Decimal)
    case weeklyLoss(pnl: Decimal, limit: Decimal)
    case dailyExposure(used: Decimal, adding: Decimal, limit: Decimal)
    case cooldown(symbol: String, minutesLeft: Int)
    case maxOpenPositions(open: Int, limit: Int)
    case positionExists(symbol: String)
    case breakerOpen([String])
    case halted
    case kellyNotPositive(winRate: Double, rewardRisk: Double)
    case belowMinimum(symbol: String, minNotional: Decimal, minQty: Decimal, cap: Decimal, price: Decimal)
    case symbolNotTrading(symbol: String, status: String)
    case lowDiskSpace(freeMB: Int64, minimumMB: Int)
    case clockSkew(offsetMs: Int64, limitMs: Int)
    case clockUncertain(roundTripMs: Int64, recvWindowMs: Int)

    public var code: String {
        switch self {
        case .noDirection: "no_direction"
        case .lowConfidence: "low_confidence"
        case .rewardRiskTooLow: "reward_risk"
        case .tradesPerDay: "trades_per_day"
        case .dailyLoss: "daily_loss"
        case .weeklyLoss: "weekly_loss"
        case .dailyExposure: "daily_exposure"
        case .cooldown: "cooldown"
        case .maxOpenPositions: "max_open_positions"
        case .positionExists: "position_exists"
        case .breakerOpen: "breaker_open"
        case .halted: "halted"
        case .kellyNotPositive: "kelly"
        case .belowMinimum: "below_min_notional"
        case .symbolNotTrading: "symbol_not_trading"
        case .lowDiskSpace: "low_disk_space"
        case .clockSkew: "clock_skew"
        case .clockUncertain: "clock_uncertain"
        }
    }

    public var description: String {
        switch self {
        case .noDirection: "analyst saw no trade"
        case .lowConfidence(let c, let m): "confidence \(c) is below the threshold \(m)"
        case .rewardRiskTooLow(let rr, let m): "reward:risk \(rr) is below \(m)"
        case .tradesPerDay(let n, let l): "\(n) trades today reach the limit of \(l)"
        case .dailyLoss(let p, let l): "today's P&L \(p.rounded(scale: 2)) USD has hit the daily loss limit of \(l) USD"
        case .weeklyLoss(let p, let l): "this week's P&L \(p.rounded(scale: 2)) USD has hit the weekly loss limit of \(l) USD"
        case .dailyExposure(let u, let a, let l): "today's exposure \(u.rounded(scale: 2)) + \(a.rounded(scale: 2)) USD would exceed \(l) USD"
        case .cooldown(let s, let m): "\(s) is cooling down for \(m) more minutes"
        case .maxOpenPositions(let o, let l): "\(o) open positions reach the limit of \(l)"
        case .positionExists(let s): "a position on \(s) is already open"
        case .breakerOpen(let names): "circuit breaker open: \(names.joined(separator: ", "))"
        case .halted: "trading is halted"
        case .kellyNotPositive(let p, let b): "Kelly stake is not positive (win rate \(String(format: "%.2f", p)), reward:risk \(b))"
        case .belowMinimum(let s, let mn, let mq, let cap, let price):
            "\(s) needs at least \(mn) USD notional (min qty \(mq) at \(price.rounded(scale: 4))), more than the configured max position of \(cap) USD"
        case .symbolNotTrading(let s, let st): "\(s) is not trading (status \(st))"
        case .lowDiskSpace(let free, let min):
            "only \(free) MB free on the state filesystem, below state.min_free_mb \(min): the stop's intent might not be writable after a fill; free space on the state disk"
        case .clockSkew(let offset, let limit):
            "the host clock is \(abs(offset)) ms \(offset > 0 ? "behind" : "ahead of") the exchange, beyond execution.max_clock_skew_ms \(limit): fix NTP (timedatectl, chronyc tracking)"
        case .clockUncertain(let rtt, let window):
            "the exchange's clock was only measured to within \(rtt) ms (its /time answer took that long), more than half of exchange.recv_window_ms \(window): the stop after an entry could be refused as late; no entry until a faster measurement (hourly, or on -1021)"
        }
    }
}

/// An approved entry, with every number recomputed by gobot.
public struct EntryPlan: Sendable, Equatable {
    public var symbol: String
    public var side: PositionSide
    public var quantity: Decimal
    public var referencePrice: Decimal
    public var stopPrice: Decimal
    public var targetPrice: Decimal
    public var notionalUSD: Decimal
    public var rewardRisk: Decimal
    public var kellyFraction: Double
}

/// The pre-trade gate. Pure: the caller passes the database's view of risk and the symbol's rules.
public enum RiskGate {
    public static func evaluate(symbol: String, signal: Signal, price: Decimal, rules: SymbolRules,
                                state: RiskState, config: GobotConfig, closedTrades: Int, wins: Int) -> Result<EntryPlan, RiskRejection> {
        let t = config.trading, r = config.risk
        if state.halted { return .failure(.halted) }
        if !state.openBreakers.isEmpty { return .failure(.breakerOpen(state.openBreakers)) }
        if let free = state.stateFreeMB, free < Int64(config.state.minFreeMB) {
            return .failure(.lowDiskSpace(freeMB: free, minimumMB: config.state.minFreeMB))
        }
        if let skew = state.clockSkewMs, abs(skew) > Int64(config.execution.maxClockSkewMs) {
            return .failure(.clockSkew(offsetMs: skew, limitMs: config.execution.maxClockSkewMs))
        }
        if let rtt = state.clockRoundTripMs, rtt > Int64(config.exchange.recvWindowMs / 2) {
            return .failure(.clockUncertain(roundTripMs: rtt, recvWindowMs: config.exchange.recvWindowMs))
        }
        guard let side = signal.direction == .long ? PositionSide.long : signal.direction == .short ? .short : nil else {
            return .failure(.noDirection)
        }
        if signal.confidence < t.minConfidence { return .failure(.lowConfidence(signal.confidence, minimum: t.minConfidence)) }
        guard rules.status == "TRADING" else { return .failure(.symbolNotTrading(symbol: symbol, status: rules.status)) }

        let prices = ProtectivePrices.compute(side: side, entry: price, stopPercent: t.stopLossPercent,
                                              targetPercent: t.takeProfitPercent, tickSize: rules.tickSize)
        if prices.rewardRisk < r.minRewardRisk { return .failure(.rewardRiskTooLow(prices.rewardRisk.rounded(scale: 2), minimum: r.minRewardRisk)) }
        if state.tradesToday >= t.maxTradesPerDay { return .failure(.tradesPerDay(count: state.tradesToday, limit: t.maxTradesPerDay)) }
        if state.pnlTodayUSD <= -t.dailyLossLimitUSD { return .failure(.dailyLoss(pnl: state.pnlTodayUSD, limit: t.dailyLossLimitUSD)) }
        if state.pnlWeekUSD <= -r.weeklyLossLimitUSD { return .failure(.weeklyLoss(pnl: state.pnlWeekUSD, limit: r.weeklyLossLimitUSD)) }
        if state.symbolHasPosition { return .failure(.positionExists(symbol: symbol)) }
        if state.openPositions >= r.maxOpenPositions { return .failure(.maxOpenPositions(open: state.openPositions, limit: r.maxOpenPositions)) }
        if let last = state.lastEntryOnSymbolMs {
            let cooldownMs = Int64(t.symbolCooldownMinutes) * 60_000
            let left = last + cooldownMs - state.nowMs
            if left > 0 { return .failure(.cooldown(symbol: symbol, minutesLeft: Int((left + 59_999) / 60_000))) }
        }

        let sizing = KellySizer.size(equityUSD: state.equityUSD, price: price,
                                     stopPercent: t.stopLossPercent, rewardRisk: prices.rewardRisk, rules: rules,
                                     config: config, closedTrades: closedTrades, wins: wins)
        switch sizing {
        case .failure(let rejection): return .failure(rejection)
        case .success(let s):
            if state.exposureTodayUSD + s.notional > r.dailyExposureLimitUSD {
                return .failure(.dailyExposure(used: state.exposureTodayUSD, adding: s.notional, limit: r.dailyExposureLimitUSD))
            }
            return .success(EntryPlan(symbol: symbol, side: side, quantity: s.quantity, referencePrice: price,
                                      stopPrice: prices.stop, targetPrice: prices.target, notionalUSD: s.notional,
                                      rewardRisk: prices.rewardRisk, kellyFraction: s.kellyFraction))
        }
    }
}

