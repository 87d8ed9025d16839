import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// Makes the database agree with the exchange. Idempotent: a second run changes nothing.
    public static func reconcile(_ ctx: StepContext) async throws -> StepReport {
        let ex = try ctx.requireExchange()
        var notes: [String] = []

        // 1. Every order whose outcome we do not know is looked up by its client id, never resent.
        for o in try ctx.db.orders(statuses: ["intent", "unknown"]) {
            notes.append(try await resolve(ctx, ex: ex, order: o))
        }

        // 2. Positions: the exchange is the truth.
        let exPositions = Dictionary(try await ex.positions().map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
        let openAlgos = try await ex.openAlgoOrders(symbol: nil)
        var symbolsWithRules: [String: SymbolRules] = [:]
        func rules(_ s: String) async throws -> SymbolRules? {
            if let r = symbolsWithRules[s] { return r }
            let r = try await ex.symbolRules(symbols: [s])[s]
            symbolsWithRules[s] = r
            return r
        }
        var managed = Set<String>()
        for p in try ctx.db.livePositions() {
            managed.insert(p.symbol)
            if let live = exPositions[p.symbol], live.positionAmt != 0 {
                if p.status == "opening" {
                    try ctx.db.markPositionOpen(id: p.id, entryPrice: live.entryPrice, quantity: abs(live.positionAmt), atMs: ctx.nowMs)
                    notes.append("\(p.symbol): entry confirmed on the exchange")
                }
                let mine = openAlgos.filter { $0.symbol == p.symbol }
                let hasStop = mine.contains { $0.orderType == "STOP_MARKET" }
                let hasTarget = mine.contains { $0.orderType == "TAKE_PROFIT_MARKET" }
                if !hasStop || !hasTarget, let r = try await rules(p.symbol) {
                    let attempt = try ctx.db.orders(positionId: p.id).filter { $0.purpose == "stop" }.count + 1
                    let result = try await protect(ctx, ex: ex, positionId: p.id, rules: r, attempt: attempt, have: (hasStop, hasTarget))
                    notes.append("\(p.symbol): repaired protection (\(result))")
                    if !hasStop {
                        Alerts.send(ctx, kind: "error", key: "repair-\(p.id)-\(attempt)", text: "🛠 \(p.symbol): stop-loss was missing; \(result)")
                    }
                }
            } else if p.status == "open" || p.status == "opening" {
                let entry = try ctx.db.orders(positionId: p.id).first { $0.purpose == "entry" }
                if p.status == "opening", entry?.status != "filled" {
                    if entry?.status == "rejected" || entry == nil {
                        try ctx.db.failPosition(id: p.id, reason: "entry never executed", atMs: ctx.nowMs)
                        notes.append("\(p.symbol): entry never executed")
                    }
                    continue
                }
                notes.append(try await bookClose(ctx, ex: ex, p: p, openAlgos: openAlgos))
            }
        }

        // 3. Orphans: protective orders whose position is gone are cancelled.
        let stillOpen = Set(try ctx.db.livePositions().map(\.symbol))
        for a in try await ex.openAlgoOrders(symbol: nil) where !stillOpen.contains(a.symbol) && (exPositions[a.symbol]?.positionAmt ?? 0) == 0 {
            try? await ex.cancelAlgoOrder(clientAlgoId: a.clientAlgoId)
            if try ctx.db.order(clientOrderId: a.clientAlgoId) != nil {
                try ctx.db.updateOrder(clientOrderId: a.clientAlgoId, status: "canceled", atMs: ctx.nowMs)
            }
            notes.append("\(a.symbol): cancelled orphan \(a.orderType) \(a.clientAlgoId)")
        }

        // 4. A position gobot does not know about still gets a stop.
        for (symbol, live) in exPositions where live.positionAmt != 0 && !managed.contains(symbol) {
            let key = "unmanaged-\(symbol)"
            Alerts.send(ctx, kind: "risk", key: "\(key)-\(TradingCalendar.startOfDay(ctx.nowMs))",
                        text: "⚠️ \(symbol) has a position gobot did not open (\(live.positionAmt.plainString)); it gets a stop only")
            if !openAlgos.contains(where: { $0.symbol == symbol && $0.orderType == "STOP_MARKET" }), let r = try await rules(symbol),
               let side = live.side {
                let stop = ProtectivePrices.compute(side: side, entry: live.entryPrice, stopPercent: ctx.config.trading.stopLossPercent,
                                                    targetPercent: ctx.config.trading.takeProfitPercent, tickSize: r.tickSize).stop
                // Intent first like every order; the minute in the id makes a retry after an
                // unknown outcome a new, recorded attempt rather than a blind resend.
                let target = ExitTarget(unmanaged: live, stem: "adopt-\(symbol)-\(ctx.nowMs / 60_000)")
                do {
                    try await placeProtective(ctx, ex: ex, target: target, kind: .stopMarket, price: stop, clientId: target.clientId(.stop, attempt: 1))
                    notes.append("\(symbol): placed a stop at \(stop.plainString) on an unmanaged position")
                } catch let error as ExchangeError {
                    notes.append("\(symbol): could not stop the unmanaged position (\(error))")
                    Alerts.send(ctx, kind: "error", key: "\(key)-stopfail-\(ctx.nowMs / 60_000)",
                                text: "🚨 \(symbol): stop for the unmanaged position refused (\(error)); close it by hand or run gobot halt --flatten")
                }
            }
        }

        // 5. Money: realized P&L, commission and funding from the income history, booked once each.
        notes.append(contentsOf: try await bookIncome(ctx, ex: ex))

        if ctx.step != .backtest { notes += try await labelSignalsAndCheckEdge(ctx, ex: ex) }  // scorecard and edge breaker (Steps+Scorecard.swift); evaluate measures backtests

        // 6. Too many losses in a row opens the loss breaker.
        let history = try ctx.db.tradeHistory()
        if history.consecutiveLosses >= ctx.config.risk.maxConsecutiveLosses,
           !(try ctx.db.breaker("losses").isOpen(atMs: ctx.nowMs)),
           try ctx.db.value(forKey: "losses_breaker_at_closed") != String(history.closed) {
            let until = ctx.nowMs + Int64(ctx.config.risk.breakerCooldownMinutes) * 60_000
            try ctx.db.openBreaker("losses", reason: "\(history.consecutiveLosses) losing trades in a row", untilMs: until, atMs: ctx.nowMs)
            try ctx.db.setValue(String(history.closed), forKey: "losses_breaker_at_closed", atMs: ctx.nowMs)
            Alerts.send(ctx, kind: "breaker", key: "losses-\(history.closed)",
                        text: "⛔ \(history.consecutiveLosses) losing trades in a row: new entries paused for \(ctx.config.risk.breakerCooldownMinutes) min")
            notes.append("loss breaker opened")
        }
        let changes = notes.filter { !$0.isEmpty }
        return StepReport(outcome: changes.isEmpty ? "nothing_to_do" : "ok",
                          message: changes.isEmpty ? "reconcile: in agreement with the exchange" : "reconcile: " + changes.joined(separator: "; "))
    }

    /// Looks up one order of unknown outcome and records what the exchange says.
    static func resolve(_ ctx: StepContext, ex: any FuturesExchange, order o: OrderRow) async throws -> String {
        let note = try await lookUp(ctx, ex: ex, order: o)
        try ctx.db.audit(atMs: ctx.nowMs, actor: "reconcile", action: "recovery", detail: note)
        return note
    }

    static func lookUp(_ ctx: StepContext, ex: any FuturesExchange, order o: OrderRow) async throws -> String {
        if o.purpose == "stop" || o.purpose == "take_profit" {
            if let algo = try await ex.queryAlgoOrder(clientAlgoId: o.clientOrderId) {
                let status = algo.isOpen ? "open" : (algo.algoStatus == "FINISHED" || algo.algoStatus == "TRIGGERED") ? "filled" : "canceled"
                try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: status, exchangeOrderId: algo.algoId, atMs: ctx.nowMs)
                return "\(o.symbol): \(o.purpose) \(o.clientOrderId) found (\(algo.algoStatus))"
            }
            try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "expired", error: "not on the exchange", atMs: ctx.nowMs)
            return "\(o.symbol): \(o.purpose) \(o.clientOrderId) never reached the exchange"
        }
        if let found = try await ex.queryOrder(symbol: o.symbol, clientOrderId: o.clientOrderId) {
            let status = found.isFilled ? "filled" : found.isFinal ? "canceled" : "open"
            try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: status, exchangeOrderId: found.orderId, avgPrice: found.avgPrice,
                                   executedQty: found.executedQty, atMs: ctx.nowMs)
            if o.purpose == "entry", found.isFilled, let pid = o.positionId, let p = try ctx.db.position(id: pid), p.status == "opening" {
                try ctx.db.markPositionOpen(id: pid, entryPrice: found.avgPrice, quantity: found.executedQty, atMs: ctx.nowMs)
            }
            return "\(o.symbol): \(o.purpose) \(o.clientOrderId) found \(found.status)"
        }
        try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "rejected", error: "not on the exchange", atMs: ctx.nowMs)
        if o.purpose == "entry", let pid = o.positionId {
            try ctx.db.failPosition(id: pid, reason: "entry \(o.clientOrderId) never reached the exchange", atMs: ctx.nowMs)
        }
        return "\(o.symbol): \(o.purpose) \(o.clientOrderId) never reached the exchange"
    }

    /// Books a position the exchange has closed, and cancels its remaining protective order.
    static func bookClose(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow, openAlgos: [AlgoOrder]) async throws -> String {
        let trades = try await ex.userTrades(symbol: p.symbol, startMs: p.openedAtMs, endMs: ctx.nowMs)
        let entrySide = p.side.entrySide
        let closing = trades.filter { $0.side != entrySide }
        let realized = closing.reduce(Decimal(0)) { $0 + $1.realizedPnl }
        let fees = trades.reduce(Decimal(0)) { $0 + $1.commission }
        let qty = closing.reduce(Decimal(0)) { $0 + $1.qty }
        let exitPrice = qty > 0 ? closing.reduce(Decimal(0)) { $0 + $1.price * $1.qty } / qty : nil
        var reason = "closed outside gobot"
        for o in try ctx.db.orders(positionId: p.id) where o.purpose == "stop" || o.purpose == "take_profit" || o.purpose == "close" {
            if o.purpose == "close", o.status == "filled" { reason = "closed by gobot"; continue }
            if let algo = try await ex.queryAlgoOrder(clientAlgoId: o.clientOrderId) {
                if algo.algoStatus == "FINISHED" || algo.algoStatus == "TRIGGERED" {
                    reason = o.purpose == "stop" ? "stop-loss" : "take-profit"
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "filled", atMs: ctx.nowMs)
                } else if algo.isOpen {
                    try? await ex.cancelAlgoOrder(clientAlgoId: o.clientOrderId)  // the sibling
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "canceled", atMs: ctx.nowMs)
                } else {
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "canceled", atMs: ctx.nowMs)
                }
            }
        }
        try ctx.db.closePosition(id: p.id, exitPrice: exitPrice?.rounded(scale: 8), reason: reason, realizedPnl: realized, fees: fees, atMs: ctx.nowMs)
        let net = realized - fees + p.funding
        Alerts.send(ctx, kind: "trade_closed", key: "closed-\(p.id)",
                    text: "\(net >= 0 ? "✅" : "❌") closed \(p.side.rawValue) \(p.symbol) by \(reason): P&L \(realized.rounded(scale: 4)) USD, fees \(fees.rounded(scale: 4))")
        return "\(p.symbol): closed by \(reason), P&L \(realized.rounded(scale: 4)) fees \(fees.rounded(scale: 4))"
    }

    static func bookIncome(_ ctx: StepContext, ex: any FuturesExchange) async throws -> [String] {
        let key = "income_cursor_ms"
        let start = Int64(try ctx.db.value(forKey: key) ?? "") ?? (TradingCalendar.startOfDay(ctx.nowMs) - 7 * TradingCalendar.dayMs)
        let records = try await ex.income(startMs: start, endMs: ctx.nowMs)
        var booked = 0, fundingNotes: [String] = []
        let live = try ctx.db.livePositions() + ((try? ctx.db.positions().filter { $0.status == "closed" }) ?? [])
        for r in records {
            let kind: String
            switch r.incomeType {
            case "REALIZED_PNL": kind = "realized_pnl"
            case "COMMISSION": kind = "commission"
            case "FUNDING_FEE": kind = "funding"
            default: continue
            }
            let owner = live.last { $0.symbol == r.symbol && $0.openedAtMs <= r.timeMs && ($0.closedAtMs ?? .max) >= r.timeMs }
            if try ctx.db.addLedger(atMs: r.timeMs, symbol: r.symbol, kind: kind, amount: r.income, positionId: owner?.id, ref: "\(r.incomeType):\(r.tranId)") {
                booked += 1
                if kind == "funding", let owner {
                    try ctx.db.addFunding(positionId: owner.id, amount: r.income)
                    fundingNotes.append("\(r.symbol): funding \(r.income.plainString)")
                }
            }
        }
        if let last = records.map(\.timeMs).max() { try ctx.db.setValue(String(last), forKey: key, atMs: ctx.nowMs) }
        return booked > 0 ? ["booked \(booked) ledger entries"] + fundingNotes : []
    }

    /// Cancels every protective order and closes every position (halt --flatten).
    static func flattenAll(_ ctx: StepContext) async throws -> String {
        let ex = try ctx.requireExchange()
        var closed = 0, cancelled = 0
        for a in try await ex.openAlgoOrders(symbol: nil) where (try? await ex.cancelAlgoOrder(clientAlgoId: a.clientAlgoId)) != nil {
            cancelled += 1
        }
        let booked = try ctx.db.livePositions()
        var failures: [String] = []
        for live in try await ex.positions() where live.positionAmt != 0 {
            let target = booked.first(where: { $0.symbol == live.symbol }).map(ExitTarget.init)
                ?? ExitTarget(unmanaged: live, stem: "flat-\(live.symbol)-\(ctx.nowMs / 1000)")
            let result = try await closeAtMarket(ctx, ex: ex, target: target, reason: "halt --flatten")
            if result == "closed at market" { closed += 1 } else { failures.append("\(live.symbol): \(result)") }
        }
        try ctx.db.audit(atMs: ctx.nowMs, actor: "cli", action: "flatten", detail: "cancelled \(cancelled) protective orders, closed \(closed) positions")
        var message = "flattened: cancelled \(cancelled) protective orders, closed \(closed) positions (reconcile books the P&L)"
        if !failures.isEmpty { message += "; NOT closed: " + failures.joined(separator: "; ") }
        return message
    }
}
