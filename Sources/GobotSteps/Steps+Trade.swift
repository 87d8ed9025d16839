import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// Gates, sizes and enters each fresh signal, then protects the position on the exchange.
    public static func trade(_ ctx: StepContext) async throws -> StepReport {
        let now = ctx.nowMs
        let signals = try ctx.db.freshSignals(nowMs: now, maxAgeMs: Int64(ctx.config.execution.signalMaxAgeMinutes) * 60_000)
        guard !signals.isEmpty else { return StepReport(outcome: "nothing_to_do", message: "trade: no fresh signals") }
        let ex = try ctx.requireExchange()
        if ctx.config.execution.autoExecute, signals.contains(where: { $0.signal.direction != .none }) {
            do { try await ex.ensureOneWayMode() } catch let e as ExchangeError where !e.isTemporary {
                throw StepError.failed("trade: the account must be in one-way position mode and could not be switched (\(e)); close hedge-mode positions first")
            }
        }
        let rules = try await ex.symbolRules(symbols: Array(Set(signals.map(\.symbol))))
        var lines: [String] = []
        for s in signals {
            guard s.signal.direction != .none else {
                try ctx.db.decideSignal(s.id, status: "rejected", decision: "no_direction: \(RiskRejection.noDirection)")
                lines.append("\(s.symbol): no trade")
                continue
            }
            guard let rule = rules[s.symbol] else {
                try ctx.db.decideSignal(s.id, status: "rejected", decision: "no_rules: exchange has no rules for \(s.symbol)")
                continue
            }
            // Every limit is read from the database right now, after any earlier entry of this run.
            let state = try riskState(ctx, symbol: s.symbol).measuringHost(ctx)
            let history = try ctx.db.tradeHistory()
            let mark = try await ex.markPrice(symbol: s.symbol)
            guard let price = Decimal(price: mark), price > 0 else {
                // A broken price feed must never reach sizing (a zero price would divide by zero).
                try ctx.db.decideSignal(s.id, status: "rejected", decision: "bad_price: the exchange gave \(mark) as the mark price of \(s.symbol)")
                lines.append("\(s.symbol): rejected, mark price \(mark) is not usable")
                continue
            }
            let decision = RiskGate.evaluate(symbol: s.symbol, signal: s.signal, price: price, rules: rule, state: state,
                                             config: ctx.config, closedTrades: history.closed, wins: history.wins)
            switch decision {
            case .failure(let rejection):
                try ctx.db.decideSignal(s.id, status: "rejected", decision: "\(rejection.code): \(rejection)")
                lines.append("\(s.symbol): rejected, \(rejection)")
            case .success(let plan):
                guard ctx.config.execution.autoExecute else {
                    try ctx.db.decideSignal(s.id, status: "recorded", decision: "would enter \(plan.side.rawValue) \(plan.quantity.plainString) (auto_execute is off)")
                    lines.append("\(s.symbol): recorded only (auto_execute off)")
                    continue
                }
                // The kill switch is checked again right before money moves.
                if let reason = StepRunner.killSwitchReason(ctx.config) {
                    try ctx.db.decideSignal(s.id, status: "rejected", decision: "halted: \(reason)")
                    lines.append("\(s.symbol): not entered, \(reason)")
                    break
                }
                // SIGTERM: no new entry; what was entered before it is protected to completion.
                if ctx.stop.isRequested { lines.append("\(s.symbol): not entered, \(ctx.stop.signalName) received"); continue }
                lines.append(try await enter(ctx, ex: ex, plan: plan, signalId: s.id, rules: rule))
            }
        }
        return StepReport(message: "trade: " + lines.joined(separator: "; "))
    }

    static func riskState(_ ctx: StepContext, symbol: String) throws -> RiskState {
        let now = ctx.nowMs
        let day = TradingCalendar.startOfDay(now), week = TradingCalendar.startOfWeek(now)
        let today = try ctx.db.entriesSince(day)
        let live = try ctx.db.livePositions()
        let allTime = try ctx.db.ledgerTotals(fromMs: 0)
        return RiskState(nowMs: now,
                         equityUSD: ctx.config.trading.initialCapitalUSD + allTime.net,
                         tradesToday: today.count,
                         pnlTodayUSD: try ctx.db.ledgerTotals(fromMs: day).net,
                         pnlWeekUSD: try ctx.db.ledgerTotals(fromMs: week).net,
                         exposureTodayUSD: today.notional,
                         openPositions: live.count,
                         symbolHasPosition: live.contains { $0.symbol == symbol },
                         lastEntryOnSymbolMs: try ctx.db.lastEntryMs(symbol: symbol),
                         openBreakers: try ctx.db.allBreakers().filter { $0.isOpen(atMs: now) }.map(\.name),
                         halted: try ctx.db.haltState().halted)
    }

    /// Intent, market entry, then stop-loss and take-profit. Every order row is committed before
    /// its request is sent; an unknown outcome is left for reconcile to look up.
    static func enter(_ ctx: StepContext, ex: any FuturesExchange, plan: EntryPlan, signalId: Int64, rules: SymbolRules) async throws -> String {
        let entryId = ClientOrderId.make(signalId: signalId, purpose: .entry)
        let positionId = try ctx.db.recordEntryIntent(EntryIntent(plan: plan, signalId: signalId, entryClientId: entryId), atMs: ctx.nowMs)
        if ctx.config.exchange.environment != .paper {
            try? await ex.setMarginType(symbol: plan.symbol, marginType: ctx.config.execution.marginType)
            try? await ex.setLeverage(symbol: plan.symbol, leverage: ctx.config.execution.leverage)
        }
        let order: ExchangeOrder
        do {
            order = try await ex.placeMarketOrder(MarketOrderRequest(symbol: plan.symbol, side: plan.side.entrySide, quantity: plan.quantity,
                                                                     reduceOnly: false, clientOrderId: entryId))
        } catch let error as ExchangeError {
            if case .rejected = error {
                try ctx.db.updateOrder(clientOrderId: entryId, status: "rejected", error: error.description, atMs: ctx.nowMs)
                try ctx.db.failPosition(id: positionId, reason: "entry rejected: \(error)", atMs: ctx.nowMs)
                return "\(plan.symbol): entry rejected, \(error)"
            }
            // Unknown or temporary: never resend blind; reconcile looks it up by client id.
            try ctx.db.updateOrder(clientOrderId: entryId, status: "unknown", error: error.description, atMs: ctx.nowMs)
            Alerts.send(ctx, kind: "error", key: "unknown-\(entryId)", text: "⚠️ \(plan.symbol) entry outcome unknown (\(error)); reconcile will resolve it")
            return "\(plan.symbol): entry outcome unknown, left for reconcile"
        }
        try ctx.db.updateOrder(clientOrderId: entryId, status: order.isFilled ? "filled" : "open", exchangeOrderId: order.orderId,
                               avgPrice: order.avgPrice, executedQty: order.executedQty, atMs: ctx.nowMs)
        guard order.isFilled, order.executedQty > 0 else {
            return "\(plan.symbol): entry \(order.status), reconcile will follow it"
        }
        try ctx.db.markPositionOpen(id: positionId, entryPrice: order.avgPrice, quantity: order.executedQty, atMs: ctx.nowMs)
        let result = try await protect(ctx, ex: ex, positionId: positionId, rules: rules, attempt: 1)
        Alerts.send(ctx, kind: "trade_opened", key: "opened-\(positionId)",
                    text: "📈 opened \(plan.side.rawValue) \(plan.symbol) qty \(order.executedQty.plainString) @ \(order.avgPrice.plainString); \(result)")
        return "\(plan.symbol): \(plan.side.rawValue) \(order.executedQty.plainString) @ \(order.avgPrice.plainString), \(result)"
    }

    /// Places whichever of stop-loss and take-profit is missing, from prices recomputed on the
    /// actual fill. If the stop cannot be placed, the position is closed: never unprotected.
    static func protect(_ ctx: StepContext, ex: any FuturesExchange, positionId: Int64, rules: SymbolRules, attempt: Int,
                        have: (stop: Bool, target: Bool) = (false, false)) async throws -> String {
        guard let p = try ctx.db.position(id: positionId) else { return "position gone" }
        let target = ExitTarget(p)
        let prices = ProtectivePrices.compute(side: p.side, entry: p.entryPrice, stopPercent: ctx.config.trading.stopLossPercent,
                                              targetPercent: ctx.config.trading.takeProfitPercent, tickSize: rules.tickSize)
        try ctx.db.updateProtectivePrices(id: positionId, stop: prices.stop, target: prices.target)
        var parts: [String] = []
        // The stop first: if it is refused the position is closed and the target is moot.
        let wanted: [(ProtectiveOrderRequest.Kind, ClientOrderId.Purpose, Decimal, String)] =
            (have.stop ? [] : [(.stopMarket, .stop, prices.stop, "stop")]) + (have.target ? [] : [(.takeProfitMarket, .takeProfit, prices.target, "target")])
        for (kind, purpose, price, name) in wanted {
            let id = target.clientId(purpose, attempt: attempt)
            do {
                try await placeProtective(ctx, ex: ex, target: target, kind: kind, price: price, clientId: id)
                parts.append("\(name) \(price.plainString)")
            } catch let error as ExchangeError where !isUnknown(error) {
                guard kind == .stopMarket else {
                    // The stop protects the position; a missing target is repaired by reconcile.
                    parts.append("target not placed (\(error))")
                    continue
                }
                let closed = try await closeAtMarket(ctx, ex: ex, target: target, reason: "stop could not be placed: \(error)")
                Alerts.send(ctx, kind: "error", key: "stopfail-\(id)", text: "🚨 \(p.symbol): stop-loss rejected (\(error)); \(closed)")
                return "stop rejected (\(error)); \(closed)"
            }
        }
        return parts.isEmpty ? "protected" : parts.joined(separator: ", ")
    }

    static func isUnknown(_ e: ExchangeError) -> Bool { if case .unknownOutcome = e { true } else { false } }

    /// What an exit order is for: gobot's position row, or a position gobot finds on the exchange
    /// without a row of its own (nil id). Every exit goes through the same intent-first path.
    struct ExitTarget {
        var positionId: Int64?
        var symbol: String
        var side: OrderSide
        var quantity: Decimal
        /// The stem of deterministic client ids: the signal id for gobot's positions.
        var idStem: String

        init(_ p: PositionRow) {
            positionId = p.id
            symbol = p.symbol
            side = p.side.exitSide
            quantity = p.quantity
            idStem = String(p.signalId ?? p.id)
        }

        init(unmanaged live: ExchangePosition, stem: String) {
            positionId = nil
            symbol = live.symbol
            side = live.positionAmt > 0 ? .sell : .buy
            quantity = abs(live.positionAmt)
            idStem = stem
        }

        func clientId(_ purpose: ClientOrderId.Purpose, attempt: Int) -> String {
            ClientOrderId.make(stem: idStem, purpose: purpose, attempt: attempt)
        }
    }

    static func placeProtective(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow, kind: ProtectiveOrderRequest.Kind,
                                price: Decimal, clientId: String) async throws {
        try await placeProtective(ctx, ex: ex, target: ExitTarget(p), kind: kind, price: price, clientId: clientId)
    }

    static func placeProtective(_ ctx: StepContext, ex: any FuturesExchange, target t: ExitTarget, kind: ProtectiveOrderRequest.Kind,
                                price: Decimal, clientId: String) async throws {
        let purpose = kind == .stopMarket ? "stop" : "take_profit"
        if try ctx.db.order(clientOrderId: clientId) == nil {
            try ctx.db.recordIntent(clientOrderId: clientId, positionId: t.positionId, symbol: t.symbol, side: t.side, purpose: purpose,
                                    type: kind.rawValue, quantity: t.quantity, triggerPrice: price, atMs: ctx.nowMs)
        }
        do {
            let algo = try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: t.symbol, side: t.side, kind: kind,
                                                                                triggerPrice: price, clientAlgoId: clientId))
            try ctx.db.updateOrder(clientOrderId: clientId, status: "open", exchangeOrderId: algo.algoId, atMs: ctx.nowMs)
        } catch let error as ExchangeError {
            try ctx.db.updateOrder(clientOrderId: clientId, status: isUnknown(error) ? "unknown" : "rejected", error: error.description, atMs: ctx.nowMs)
            throw error
        }
    }

    /// Closes a position with a reduce-only market order (intent first).
    static func closeAtMarket(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow, reason: String) async throws -> String {
        try await closeAtMarket(ctx, ex: ex, target: ExitTarget(p), reason: reason)
    }

    static func closeAtMarket(_ ctx: StepContext, ex: any FuturesExchange, target t: ExitTarget, reason: String) async throws -> String {
        var attempt = 1
        while try ctx.db.order(clientOrderId: t.clientId(.close, attempt: attempt)) != nil { attempt += 1 }
        let id = t.clientId(.close, attempt: attempt)
        try ctx.db.recordIntent(clientOrderId: id, positionId: t.positionId, symbol: t.symbol, side: t.side, purpose: "close",
                                type: "MARKET", quantity: t.quantity, triggerPrice: nil, atMs: ctx.nowMs)
        do {
            let o = try await ex.placeMarketOrder(MarketOrderRequest(symbol: t.symbol, side: t.side, quantity: t.quantity,
                                                                     reduceOnly: true, clientOrderId: id))
            try ctx.db.updateOrder(clientOrderId: id, status: o.isFilled ? "filled" : "open", exchangeOrderId: o.orderId, avgPrice: o.avgPrice,
                                   executedQty: o.executedQty, atMs: ctx.nowMs)
            try ctx.db.audit(atMs: ctx.nowMs, actor: "gobot", action: "close_at_market",
                             detail: "\(t.symbol) position \(t.positionId.map(String.init) ?? "unmanaged"): \(reason)")
            return "closed at market"
        } catch let error as ExchangeError {
            try ctx.db.updateOrder(clientOrderId: id, status: isUnknown(error) ? "unknown" : "rejected", error: error.description, atMs: ctx.nowMs)
            return "close at market failed (\(error)); reconcile will retry"
        }
    }
}
