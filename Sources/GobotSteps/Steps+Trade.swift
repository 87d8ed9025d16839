import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// The decision on a signal with no direction; analyze stores such a signal with it already.
    static let noDirectionDecision = "no_direction: \(RiskRejection.noDirection)"

    /// Gates, sizes and enters each fresh signal, then protects the position on the exchange.
    /// Exits 75 when an order's outcome is still unknown after looking it up (reconcile resolves it).
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
        var unresolved = false
        for s in signals {
            guard s.signal.direction != .none else {
                try ctx.db.decideSignal(s.id, status: "rejected", decision: noDirectionDecision)
                lines.append("\(s.symbol): no trade")
                continue
            }
            guard let rule = rules[s.symbol] else {
                try ctx.db.decideSignal(s.id, status: "rejected", decision: "no_rules: exchange has no rules for \(s.symbol)")
                continue
            }
            // The loss limits are only as current as the ledger reconcile books from the income
            // history: an income booking that keeps failing would leave them blind to new losses.
            if let stale = try ledgerStaleReason(ctx) {
                let why = "ledger_stale: \(stale); the loss limits cannot see recent P&L until reconcile books it (see its last error)"
                try ctx.db.decideSignal(s.id, status: "rejected", decision: why)
                Alerts.send(ctx, kind: "risk", key: "ledger-stale-\(TradingCalendar.startOfDay(now))", text: "⛔ no entry: \(why)")
                lines.append("\(s.symbol): rejected, \(why)")
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
                // The gate saw no position of gobot's here, so one on the exchange is the owner's
                // (or one gobot lost track of): in one-way mode the entry would net with it, gobot's
                // stop would close it, and a flat account would look like a close without a fill.
                if let held = try await ex.positions().first(where: { $0.symbol == s.symbol && $0.positionAmt != 0 }) {
                    try ctx.db.decideSignal(s.id, status: "rejected", decision: "position_held: the account already holds \(held.positionAmt.plainString) \(s.symbol) that gobot did not open")
                    lines.append("\(s.symbol): rejected, the account already holds \(held.positionAmt.plainString) that gobot did not open")
                    continue
                }
                let result = try await enter(ctx, ex: ex, plan: plan, signalId: s.id, rules: rule)
                lines.append(result.line)
                unresolved = unresolved || result.unresolved
            }
        }
        let message = "trade: " + lines.joined(separator: "; ")
        return unresolved ? StepReport(outcome: "unresolved", message: message, exit: .tryLater) : StepReport(message: message)
    }

    /// Why the ledger is too stale to gate an entry on, or nil. The lag is how far reconcile's
    /// income cursor is behind the exchange's clock; a healthy cursor lags by at most its stride
    /// and overlap plus one reconcile interval (about 75 min). Without a cursor, reconcile has
    /// never booked: harmless before gobot's first position (there is no P&L to miss), otherwise
    /// the lag runs from that first position's opening (a new database whose booking fails from
    /// the first run, or a cursor deleted as its own error message advises while the booking
    /// keeps failing). A cursor ahead of the exchange's clock says nothing of what was booked.
    static func ledgerStaleReason(_ ctx: StepContext) throws -> String? {
        let exchangeNow = ctx.nowMs + (try ctx.exchangeOffsetMs())
        guard let text = try ctx.db.value(forKey: incomeCursorKey) else {
            // Positions carry host times: the lag since the first one is the same on either clock.
            guard let first = try ctx.db.firstEntryMs(), ctx.nowMs - first > maxIncomeBookingLagMs else { return nil }
            return "reconcile has never booked the income history, and gobot has held positions for \((ctx.nowMs - first) / 60_000) min "
                + "(more than \(maxIncomeBookingLagMs / 60_000))"
        }
        let cursor = try incomeCursor(text)
        if cursor > exchangeNow + StepContext.windowMarginMs {
            return "the income cursor is \((cursor - exchangeNow) / 60_000) min ahead of the exchange's clock; reconcile reads the income history again"
        }
        let lag = exchangeNow - cursor
        guard lag > maxIncomeBookingLagMs else { return nil }
        return "income has not been booked for \(lag / 60_000) min (more than \(maxIncomeBookingLagMs / 60_000))"
    }

    /// Past this, entries stop until reconcile books income again (three hours: more than twice
    /// a healthy lag, so a missed cron run or two never stops trading).
    static let maxIncomeBookingLagMs: Int64 = 3 * 3_600_000

    /// Day and week starts on the exchange's clock (the ledger is stamped with exchange times), and
    /// the day's start in local time (positions carry local times, shifted by the offset).
    static func riskBoundaries(_ ctx: StepContext) throws -> (day: Int64, week: Int64, localDay: Int64) {
        let now = ctx.nowMs, offset = try ctx.exchangeOffsetMs()
        let day = TradingCalendar.startOfDay(now + offset)
        return (day, TradingCalendar.startOfWeek(now + offset), day - offset)
    }

    static func riskState(_ ctx: StepContext, symbol: String) throws -> RiskState {
        let now = ctx.nowMs
        let (day, week, localDay) = try riskBoundaries(ctx)
        let inputs = try ctx.db.riskInputs(symbol: symbol, entriesFromMs: localDay, dayFromMs: day, weekFromMs: week)
        return RiskState(nowMs: now,
                         equityUSD: ctx.config.trading.initialCapitalUSD + inputs.allTime.net,
                         tradesToday: inputs.entriesToday.count,
                         pnlTodayUSD: inputs.today.net,
                         pnlWeekUSD: inputs.week.net,
                         exposureTodayUSD: inputs.entriesToday.notional,
                         openPositions: inputs.live.count,
                         symbolHasPosition: inputs.live.contains { $0.symbol == symbol },
                         lastEntryOnSymbolMs: inputs.lastEntryOnSymbolMs,
                         openBreakers: inputs.breakers.filter { $0.isOpen(atMs: now) }.map(\.name),
                         halted: inputs.halt.halted)
    }

    /// What one entry came to; `unresolved` when an order's outcome is still unknown.
    struct EntryResult {
        var line: String
        var unresolved: Bool
    }

    /// Intent, market entry, then stop-loss and take-profit. Every order row is committed before
    /// its request is sent; an answer that is lost is looked up by client id, never resent.
    static func enter(_ ctx: StepContext, ex: any FuturesExchange, plan: EntryPlan, signalId: Int64, rules: SymbolRules) async throws -> EntryResult {
        if ctx.config.exchange.environment != .paper {
            // Before the intent: an account that cannot be set up is reported on the signal and
            // nothing is sent.
            do {
                try await ex.setMarginType(symbol: plan.symbol, marginType: ctx.config.execution.marginType)
                try await ex.setLeverage(symbol: plan.symbol, leverage: ctx.config.execution.leverage)
            } catch let error as ExchangeError {
                try ctx.db.decideSignal(signalId, status: "rejected",
                                        decision: "account_setup: margin type \(ctx.config.execution.marginType) / leverage \(ctx.config.execution.leverage) could not be set on \(plan.symbol): \(error)")
                return EntryResult(line: "\(plan.symbol): not entered, margin type or leverage could not be set (\(error))", unresolved: false)
            }
        }
        let entryId = ClientOrderId.make(signalId: signalId, purpose: .entry)
        let positionId = try ctx.db.recordEntryIntent(EntryIntent(plan: plan, signalId: signalId, entryClientId: entryId), atMs: ctx.nowMs)
        var order: ExchangeOrder
        do {
            order = try await ex.placeMarketOrder(MarketOrderRequest(symbol: plan.symbol, side: plan.side.entrySide, quantity: plan.quantity,
                                                                     reduceOnly: false, clientOrderId: entryId))
            // A MARKET order normally answers FILLED; one still working is followed up at once.
            if !order.isFinal, let later = await lookUpOrder(ctx, ex: ex, symbol: plan.symbol, clientOrderId: entryId) { order = later }
        } catch let error as ExchangeError {
            // A refusal (by the exchange, or by gobot's own budget, ban or breaker before sending)
            // is definite: nothing to look up, no "outcome unknown" alarm.
            if error.provesNothingExecuted {
                try ctx.db.updateOrder(clientOrderId: entryId, status: "rejected", error: error.description, atMs: ctx.nowMs)
                try ctx.db.failPosition(id: positionId, reason: "entry rejected: \(error)", atMs: ctx.nowMs)
                return EntryResult(line: "\(plan.symbol): entry rejected, \(error)", unresolved: false)
            }
            // Anything else may have reached the exchange (-4116: it did): look it up, never resend.
            // The look-up goes ahead even if the database cannot record the doubt.
            do { try ctx.db.updateOrder(clientOrderId: entryId, status: "unknown", error: error.description, atMs: ctx.nowMs) } catch {
                warnUnrecorded(ctx, key: "answer-\(entryId)", "\(plan.symbol): could not record entry \(entryId) as unknown (\(error)); looking it up anyway")
            }
            guard let found = await lookUpOrder(ctx, ex: ex, symbol: plan.symbol, clientOrderId: entryId) else {
                Alerts.send(ctx, kind: "error", key: "unknown-\(entryId)",
                            text: "⚠️ \(plan.symbol) entry \(entryId) outcome unknown (\(error)), not found after \(ctx.lookupDelaysMs.count + 1) look-ups; reconcile will resolve it")
                return EntryResult(line: "\(plan.symbol): entry outcome unknown (\(error)), not found yet; reconcile will resolve it", unresolved: true)
            }
            order = found
        }
        return try await settleEntry(ctx, ex: ex, plan: plan, positionId: positionId, entryId: entryId, order: order, rules: rules)
    }

    /// Records the entry's answer: protect a fill at once (stop first), free the symbol when
    /// nothing filled, or leave an open order for reconcile.
    static func settleEntry(_ ctx: StepContext, ex: any FuturesExchange, plan: EntryPlan, positionId: Int64, entryId: String,
                            order: ExchangeOrder, rules: SymbolRules) async throws -> EntryResult {
        // Anything filled is a position, whether or not the order is done: it is protected now
        // (closePosition stops cover what fills later; reconcile corrects the recorded size).
        let filled = order.executedQty > 0
        do {
            try ctx.db.updateOrder(clientOrderId: entryId, status: orderRowStatus(order), exchangeOrderId: order.orderId,
                                   avgPrice: order.avgPrice, executedQty: order.executedQty, atMs: ctx.nowMs)
        } catch where filled {
            // A fill must be protected even when the database cannot record it (a full disk).
            warnUnrecorded(ctx, key: "answer-\(entryId)", "\(plan.symbol): could not record the fill of entry \(entryId) (\(error)); protecting it anyway")
        }
        guard filled else {
            guard order.isFinal else { return EntryResult(line: "\(plan.symbol): entry \(order.status), reconcile will follow it", unresolved: false) }
            // EXPIRED / EXPIRED_IN_MATCH / CANCELED with nothing filled: free the symbol, unless
            // the exchange shows a position after all (then reconcile adopts it into the row).
            if let positions = try? await ex.positions(), !positions.contains(where: { $0.symbol == plan.symbol && $0.positionAmt != 0 }) {
                try ctx.db.failPosition(id: positionId, reason: "entry \(order.status) with nothing filled", atMs: ctx.nowMs)
                return EntryResult(line: "\(plan.symbol): entry \(order.status), nothing filled", unresolved: false)
            }
            return EntryResult(line: "\(plan.symbol): entry \(order.status) with nothing filled, position not confirmed; reconcile will check", unresolved: false)
        }
        do {
            try ctx.db.markPositionOpen(id: positionId, entryPrice: order.avgPrice, quantity: order.executedQty, atMs: ctx.nowMs)
        } catch {
            warnUnrecorded(ctx, key: "open-\(positionId)", "\(plan.symbol): could not record position \(positionId) as open (\(error)); protecting it anyway, reconcile records it")
        }
        let result = try await protect(ctx, ex: ex, positionId: positionId, rules: rules, pricesFromFill: true, fillPrice: order.avgPrice)
        Alerts.send(ctx, kind: "trade_opened", key: "opened-\(positionId)",
                    text: "📈 opened \(plan.side.rawValue) \(plan.symbol) qty \(order.executedQty.plainString) @ \(order.avgPrice.plainString); \(result.text)")
        let working = order.isFinal ? "" : " (entry still \(order.status), reconcile follows its size)"
        return EntryResult(line: "\(plan.symbol): \(plan.side.rawValue) \(order.executedQty.plainString) @ \(order.avgPrice.plainString), \(result.text)\(working)",
                           unresolved: result.unresolved || !order.isFinal)
    }

    /// The orders-table status of a regular order the exchange reported.
    static func orderRowStatus(_ o: ExchangeOrder) -> String {
        switch o.status {
        case "FILLED": "filled"
        case "EXPIRED", "EXPIRED_IN_MATCH": "expired"
        case "CANCELED": "canceled"
        case "REJECTED": "rejected"
        default: "open"
        }
    }

    /// Looks a regular order up by client id a few times within the step's budget; nil when the
    /// exchange never showed it. Returns as soon as the order is final.
    static func lookUpOrder(_ ctx: StepContext, ex: any FuturesExchange, symbol: String, clientOrderId: String) async -> ExchangeOrder? {
        var last: ExchangeOrder?
        for delay in [0] + ctx.lookupDelaysMs {
            if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000) }
            if let o = try? await ex.queryOrder(symbol: symbol, clientOrderId: clientOrderId) {
                last = o
                if o.isFinal { return o }
            }
        }
        return last
    }

    enum AlgoLookup {
        case found(AlgoOrder)
        case notFound
        case failed(String)
    }

    /// Looks a conditional order up by clientAlgoId, up to `attempts` times.
    static func lookUpAlgo(_ ctx: StepContext, ex: any FuturesExchange, clientAlgoId: String, attempts: Int) async -> AlgoLookup {
        var result = AlgoLookup.failed("not looked up")
        for delay in ([0] + ctx.lookupDelaysMs).prefix(max(1, attempts)) {
            if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000) }
            do {
                if let a = try await ex.queryAlgoOrder(clientAlgoId: clientAlgoId) { return .found(a) }
                result = .notFound
            } catch {
                result = .failed("\(error)")
            }
        }
        return result
    }

    /// What protecting a position came to; `unresolved` when an order's outcome is still unknown.
    struct Protection {
        var text: String
        var unresolved: Bool = false
    }

    /// Places whichever of stop-loss and take-profit is missing. On entry the prices come from the
    /// actual fill; a repair uses the prices stored on the position (not today's config). If the
    /// stop is refused the position is closed: never unprotected. An unknown stop does not skip
    /// the target.
    static func protect(_ ctx: StepContext, ex: any FuturesExchange, positionId: Int64, rules: SymbolRules, pricesFromFill: Bool,
                        fillPrice: Decimal? = nil, have: (stop: Bool, target: Bool) = (false, false)) async throws -> Protection {
        guard let p = try ctx.db.position(id: positionId) else { return Protection(text: "position gone") }
        let target = ExitTarget(p)
        var stopPrice = p.stopPrice, targetPrice = p.targetPrice
        if pricesFromFill || stopPrice <= 0 || targetPrice <= 0 {
            let prices = ProtectivePrices.compute(side: p.side, entry: fillPrice ?? p.entryPrice, stopPercent: ctx.config.trading.stopLossPercent,
                                                  targetPercent: ctx.config.trading.takeProfitPercent, tickSize: rules.tickSize)
            (stopPrice, targetPrice) = (prices.stop, prices.target)
            do { try ctx.db.updateProtectivePrices(id: positionId, stop: stopPrice, target: targetPrice) } catch {
                warnUnrecorded(ctx, key: "prices-\(positionId)", "\(p.symbol): could not record the stop/target prices of position \(positionId) (\(error)); placing them anyway")
            }
        }
        var parts: [String] = []
        var unresolved = false
        if !have.stop {
            let id = try nextClientId(ctx, target: target, purpose: .stop)
            switch await placeProtective(ctx, ex: ex, target: target, kind: .stopMarket, price: stopPrice, clientId: id) {
            case .placed:
                parts.append("stop \(stopPrice.plainString)")
            case .rejected(let error):
                let closed = try await closeOut(ctx, ex: ex, p: p, reason: "stop could not be placed: \(error)")
                Alerts.send(ctx, kind: "error", key: "stopfail-\(id)", text: "🚨 \(p.symbol): stop-loss rejected (\(error)); \(closed.text)")
                return Protection(text: "stop rejected (\(error)); \(closed.text)", unresolved: !closed.confirmed)
            case .unknown(let error):
                unresolved = true
                parts.append("stop outcome unknown (\(error))")
                Alerts.send(ctx, kind: "error", key: "stopunknown-\(id)",
                            text: "⚠️ \(p.symbol): stop-loss \(id) outcome unknown (\(error)); reconcile will look it up and repair it")
            }
        }
        if !have.target {
            let id = try nextClientId(ctx, target: target, purpose: .takeProfit)
            switch await placeProtective(ctx, ex: ex, target: target, kind: .takeProfitMarket, price: targetPrice, clientId: id) {
            case .placed:
                parts.append("target \(targetPrice.plainString)")
            case .rejected(let error) where error.code == ExchangeCodes.wouldTriggerImmediately:
                // The price is already beyond the target: the profit is there, take it.
                let closed = try await closeOut(ctx, ex: ex, p: p, reason: "take-profit \(targetPrice.plainString) already reached")
                Alerts.send(ctx, kind: "trade", key: "tp-reached-\(id)", text: "💰 \(p.symbol): price already beyond the take-profit \(targetPrice.plainString); \(closed.text)")
                parts.append("target already reached; \(closed.text)")
                unresolved = unresolved || !closed.confirmed
            case .rejected(let error):
                // The stop protects the position; a missing target is repaired by reconcile.
                parts.append("target not placed (\(error))")
            case .unknown(let error):
                unresolved = true
                parts.append("target outcome unknown (\(error))")
            }
        }
        return Protection(text: parts.isEmpty ? "protected" : parts.joined(separator: ", "), unresolved: unresolved)
    }

    /// The first client id of this purpose that has no order row yet (`gb-42-SL`, `gb-42-SL-2`, ...).
    static func nextClientId(_ ctx: StepContext, target: ExitTarget, purpose: ClientOrderId.Purpose) throws -> String {
        var attempt = 1
        while try ctx.db.order(clientOrderId: target.clientId(purpose, attempt: attempt)) != nil { attempt += 1 }
        return target.clientId(purpose, attempt: attempt)
    }

    /// What the exchange's binance codes mean to the steps.
    enum ExchangeCodes {
        static let duplicateClientId = -4116
        static let wouldTriggerImmediately = -2021
    }

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

    enum PlaceOutcome {
        case placed(AlgoOrder)
        /// A definite refusal, and the exchange does not hold the order.
        case rejected(ExchangeError)
        /// Neither placed nor refused as far as anyone can tell yet.
        case unknown(ExchangeError)
    }

    /// Places a closePosition stop or take-profit (intent first). Before any consequence of a
    /// failure the order is looked up by clientAlgoId. If its intent row cannot be written (a full
    /// disk), it is placed anyway and an alert raised: closePosition makes a second one harmless,
    /// and an unprotected position is worse than an unrecorded order.
    static func placeProtective(_ ctx: StepContext, ex: any FuturesExchange, target t: ExitTarget, kind: ProtectiveOrderRequest.Kind,
                                price: Decimal, clientId: String) async -> PlaceOutcome {
        let purpose = kind == .stopMarket ? "stop" : "take_profit"
        var recorded = true
        do {
            if try ctx.db.order(clientOrderId: clientId) == nil {
                try ctx.db.recordIntent(clientOrderId: clientId, positionId: t.positionId, symbol: t.symbol, side: t.side, purpose: purpose,
                                        type: kind.rawValue, quantity: t.quantity, triggerPrice: price, atMs: ctx.nowMs)
            }
        } catch {
            recorded = false
            warnUnrecorded(ctx, key: "intent-\(clientId)", "\(t.symbol): could not record the \(purpose) order \(clientId) (\(error)); placing it anyway")
        }
        var outcome: PlaceOutcome
        do {
            outcome = .placed(try await ex.placeProtectiveOrder(ProtectiveOrderRequest(symbol: t.symbol, side: t.side, kind: kind,
                                                                                       triggerPrice: price, clientAlgoId: clientId)))
        } catch let error as ExchangeError {
            let definite: Bool = if case .rejected(let code, _) = error { code != ExchangeCodes.duplicateClientId } else { false }
            switch await lookUpAlgo(ctx, ex: ex, clientAlgoId: clientId, attempts: definite ? 1 : ctx.lookupDelaysMs.count + 1) {
            case .found(let algo): outcome = .placed(algo)
            case .notFound, .failed: outcome = definite ? .rejected(error) : .unknown(error)
            }
        } catch {
            outcome = .unknown(.unknownOutcome("\(error)"))
        }
        // Accepted, but already cancelled, rejected or expired: the position is not protected by
        // it, which is what a refusal means to the caller.
        if case .placed(let algo) = outcome, let status = algoRowStatus(algo), status != "open" {
            outcome = .rejected(.rejected(code: 0, message: "the exchange answered the \(purpose) order with status \(algo.algoStatus)"))
        }
        guard recorded else { return outcome }
        do {
            switch outcome {
            case .placed(let algo):
                try ctx.db.updateOrder(clientOrderId: clientId, status: algoRowStatus(algo) ?? "open", exchangeOrderId: algo.algoId, atMs: ctx.nowMs)
            case .rejected(let error):
                try ctx.db.updateOrder(clientOrderId: clientId, status: "rejected", error: error.description, atMs: ctx.nowMs)
            case .unknown(let error):
                try ctx.db.updateOrder(clientOrderId: clientId, status: "unknown", error: error.description, atMs: ctx.nowMs)
            }
        } catch {
            warnUnrecorded(ctx, key: "answer-\(clientId)", "\(t.symbol): could not record the answer to \(purpose) order \(clientId) (\(error))")
        }
        return outcome
    }

    /// The orders-table status of a conditional order, or nil when only a look at its fill can tell.
    static func algoRowStatus(_ a: AlgoOrder) -> String? {
        switch a.algoStatus {
        case "NEW", "TRIGGERING": "open"
        case "CANCELED", "CANCELLED", "REJECTED": "canceled"
        case "EXPIRED": "expired"
        default: nil  // TRIGGERED, FINISHED (filled or cancelled in the matching engine), or a status gobot does not know
        }
    }

    /// The database may be what failed (a full disk): say it on stderr too, not only in the outbox.
    static func warnUnrecorded(_ ctx: StepContext, key: String, _ text: String) {
        FileHandle.standardError.write(Data("gobot \(ctx.step.rawValue): \(text)\n".utf8))
        Alerts.send(ctx, kind: "error", key: "unrecorded-\(key)", text: "🚨 \(text)")
    }

    struct CloseResult {
        var confirmed: Bool
        var text: String
    }

    /// Closes a position at market for the size the exchange holds, then cancels its protective
    /// orders, only once the close is confirmed. A failed close keeps them.
    static func closeOut(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow, reason: String) async throws -> CloseResult {
        var target = ExitTarget(p)
        if let positions = try? await ex.positions() {
            guard let live = positions.first(where: { $0.symbol == p.symbol && $0.positionAmt != 0 }) else {
                return CloseResult(confirmed: true, text: "no position left on the exchange to close")
            }
            target.quantity = abs(live.positionAmt)
        }
        let closed = try await closeAtMarket(ctx, ex: ex, target: target, reason: reason)
        guard closed.confirmed else { return closed }
        // A filled close is no proof the symbol is flat: the size it closed may be gobot's record
        // (the live size could not be read) or the position grew since. Only a symbol the
        // exchange shows flat loses its stop; otherwise reconcile follows it.
        guard let after = try? await ex.positions(), !after.contains(where: { $0.symbol == p.symbol && $0.positionAmt != 0 }) else {
            return CloseResult(confirmed: false, text: "\(closed.text), but the exchange does not show \(p.symbol) flat; protective orders kept")
        }
        await cancelProtection(ctx, ex: ex, symbol: p.symbol)
        return closed
    }

    /// Cancels gobot's open conditional orders on a symbol that has no position any more. Orders
    /// gobot did not place (the owner's own conditional entries or stops, placed by hand or by
    /// another tool) are left alone and counted, so the caller can say they are still there.
    @discardableResult
    static func cancelProtection(_ ctx: StepContext, ex: any FuturesExchange, symbol: String) async -> (cancelled: Int, notGobots: [String]) {
        guard let algos = try? await ex.openAlgoOrders(symbol: symbol) else { return (0, []) }
        var cancelled = 0
        var notGobots: [String] = []
        for a in algos where a.symbol == symbol {
            guard ClientOrderId.isGobots(a.clientAlgoId) else { notGobots.append(a.clientAlgoId); continue }
            guard (try? await ex.cancelAlgoOrder(clientAlgoId: a.clientAlgoId)) != nil else { continue }
            cancelled += 1
            if (try? ctx.db.order(clientOrderId: a.clientAlgoId)) ?? nil != nil {
                try? ctx.db.updateOrder(clientOrderId: a.clientAlgoId, status: "canceled", atMs: ctx.nowMs)
            }
        }
        return (cancelled, notGobots)
    }

    /// Closes with a reduce-only market order (intent first). A lost answer is looked up, never resent.
    static func closeAtMarket(_ ctx: StepContext, ex: any FuturesExchange, target t: ExitTarget, reason: String) async throws -> CloseResult {
        let id = try nextClientId(ctx, target: t, purpose: .close)
        try ctx.db.recordIntent(clientOrderId: id, positionId: t.positionId, symbol: t.symbol, side: t.side, purpose: "close",
                                type: "MARKET", quantity: t.quantity, triggerPrice: nil, atMs: ctx.nowMs)
        let o: ExchangeOrder
        do {
            o = try await ex.placeMarketOrder(MarketOrderRequest(symbol: t.symbol, side: t.side, quantity: t.quantity,
                                                                 reduceOnly: true, clientOrderId: id))
        } catch let error as ExchangeError {
            if error.provesNothingExecuted {
                try ctx.db.updateOrder(clientOrderId: id, status: "rejected", error: error.description, atMs: ctx.nowMs)
                return CloseResult(confirmed: false, text: "close at market failed (\(error)); reconcile will retry")
            }
            try ctx.db.updateOrder(clientOrderId: id, status: "unknown", error: error.description, atMs: ctx.nowMs)
            guard let found = await lookUpOrder(ctx, ex: ex, symbol: t.symbol, clientOrderId: id) else {
                return CloseResult(confirmed: false, text: "close at market outcome unknown (\(error)); reconcile will look it up")
            }
            o = found
        }
        try ctx.db.updateOrder(clientOrderId: id, status: orderRowStatus(o), exchangeOrderId: o.orderId, avgPrice: o.avgPrice,
                               executedQty: o.executedQty, atMs: ctx.nowMs)
        try ctx.db.audit(atMs: ctx.nowMs, actor: "gobot", action: "close_at_market",
                         detail: "\(t.symbol) position \(t.positionId.map(String.init) ?? "unmanaged"): \(reason) (\(o.status))")
        guard o.isFilled else { return CloseResult(confirmed: false, text: "close order \(o.status), executed \(o.executedQty.plainString)") }
        return CloseResult(confirmed: true, text: "closed at market")
    }
}
