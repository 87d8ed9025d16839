import Foundation
import GobotCore
import GobotStore

extension Steps {
    /// Makes the database agree with the exchange. Idempotent: a second run changes nothing.
    /// Never stops half-way: each order and each position is handled in its own error scope
    /// (recorded, alerted, skipped), and stop repair runs for every position whatever failed before.
    public static func reconcile(_ ctx: StepContext) async throws -> StepReport {
        let ex = try ctx.requireExchange()
        var notes: [String] = []
        var failures: [(what: String, error: any Error)] = []
        func failed(_ what: String, _ error: any Error) {
            failures.append((what, error))
            Alerts.send(ctx, kind: "error", key: "reconcile-fail-\(what)-\(TradingCalendar.startOfDay(ctx.nowMs))",
                        text: "⚠️ reconcile could not handle \(what): \(error); everything else was reconciled")
        }

        // 1. Every order whose outcome we do not know is looked up by its client id, never resent.
        // An entry or close answered NEW / PARTIALLY_FILLED is not final either: market orders
        // finish within moments, so its row is looked up until it is (filled, expired, cancelled).
        let pending = try ctx.db.ordersToResolve()
        for o in pending.filter({ $0.status != "open" }) + pending.filter({ $0.status == "open" }) {
            do { notes.append(try await resolve(ctx, ex: ex, order: o)) } catch { failed("\(o.symbol) \(o.purpose) order \(o.clientOrderId)", error) }
        }

        // 2. Positions: the exchange is the truth. Without its positions nothing below can be
        // decided, so that failure (and only that one) ends the run.
        let exPositions = Dictionary(try await ex.positions().map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
        // When the account-wide listing fails, each position asks for its own symbol's orders.
        var openAlgos: [AlgoOrder]?
        do { openAlgos = try await ex.openAlgoOrders(symbol: nil) } catch { failed("the list of open conditional orders", error) }
        var symbolsWithRules: [String: SymbolRules] = [:]
        func rules(_ s: String) async throws -> SymbolRules? {
            if let r = symbolsWithRules[s] { return r }
            let r = try await ex.symbolRules(symbols: [s])[s]
            symbolsWithRules[s] = r
            return r
        }
        var managed = Set<String>()
        var bookedAClose = false
        let livePositions = try ctx.db.livePositions()
        // Flat sightings waiting for their fills (bookClose), in one read.
        let flatSince = try ctx.db.values(forKeys: livePositions.map { flatWithoutFillKey($0.id) })
        for p in livePositions {
            managed.insert(p.symbol)
            do {
                if let live = exPositions[p.symbol], live.positionAmt != 0 {
                    // Listed again: a flat sighting before was a lag, its wait starts over.
                    if flatSince[flatWithoutFillKey(p.id)] != nil { try ctx.db.deleteValue(forKey: flatWithoutFillKey(p.id)) }
                    notes.append(contentsOf: try await reconcileLive(ctx, ex: ex, p: p, live: live, openAlgos: openAlgos, rules: rules))
                } else if p.status == "open" || p.status == "opening" {
                    let entry = try ctx.db.orders(positionId: p.id).first { $0.purpose == "entry" }
                    if p.status == "opening", entry?.status != "filled" {
                        // An entry that ended with nothing filled (or never existed) frees the symbol;
                        // one still unknown or in flight is looked up again next run.
                        if entry == nil || (["rejected", "canceled", "expired"].contains(entry!.status) && (entry!.executedQty ?? 0) == 0) {
                            try ctx.db.failPosition(id: p.id, reason: "entry never executed", atMs: ctx.nowMs)
                            notes.append("\(p.symbol): entry never executed")
                        }
                        continue
                    }
                    bookedAClose = true
                    notes.append(try await bookClose(ctx, ex: ex, p: p))
                }
            } catch {
                failed("\(p.symbol) position \(p.id)", error)
            }
        }

        // 3. Orphans: gobot's protective orders whose position is gone are cancelled (only with
        // the account-wide listing; its failure is already reported). Positions are read again:
        // step 2 may have taken minutes, and a stop must never be cancelled under a live position.
        // Conditional orders gobot did not place are the owner's and are left alone. With no
        // conditional order at all in the first listing there is no orphan to look for: this run
        // places orders only for positions the exchange holds, and the account lock keeps every
        // other gobot step that places them out. A close booked in this run still scans: its
        // sibling's cancel may have failed, and a listing can lag an order the look-up saw open.
        if let openAlgos, !openAlgos.isEmpty || bookedAClose { do {
            let stillOpen = Set(try ctx.db.livePositions().map(\.symbol))
            let held = Set(try await ex.positions().filter { $0.positionAmt != 0 }.map(\.symbol))
            for a in try await ex.openAlgoOrders(symbol: nil)
            where ClientOrderId.isGobots(a.clientAlgoId) && !stillOpen.contains(a.symbol) && !held.contains(a.symbol) {
                do {
                    try await ex.cancelAlgoOrder(clientAlgoId: a.clientAlgoId)
                    if try ctx.db.order(clientOrderId: a.clientAlgoId) != nil {
                        try ctx.db.updateOrder(clientOrderId: a.clientAlgoId, status: "canceled", atMs: ctx.nowMs)
                    }
                    notes.append("\(a.symbol): cancelled orphan \(a.orderType) \(a.clientAlgoId)")
                } catch {
                    failed("orphan \(a.orderType) \(a.clientAlgoId) on \(a.symbol)", error)
                }
            }
        } catch {
            failed("the orphan scan", error)
        } }

        // 4. A position gobot does not know about still gets a stop.
        for (symbol, live) in exPositions where live.positionAmt != 0 && !managed.contains(symbol) {
            do { notes.append(contentsOf: try await protectUnmanaged(ctx, ex: ex, live: live, openAlgos: openAlgos, rules: rules)) }
            catch { failed("the unmanaged \(symbol) position", error) }
        }

        // 5. Money: realized P&L, commission and funding from the income history, booked once each.
        do { notes.append(contentsOf: try await bookIncome(ctx, ex: ex)) } catch { failed("the income history", error) }

        // 6. Too many losses in a row opens the loss breaker.
        let history = try ctx.db.lossStreak()
        // Once opened for this many closed trades, the marker alone answers (one read, not two).
        if history.consecutiveLosses >= ctx.config.risk.maxConsecutiveLosses,
           try ctx.db.value(forKey: "losses_breaker_at_closed") != String(history.closed),
           !(try ctx.db.breaker("losses").isOpen(atMs: ctx.nowMs)) {
            let until = ctx.nowMs + Int64(ctx.config.risk.breakerCooldownMinutes) * 60_000
            try ctx.db.openBreaker("losses", reason: "\(history.consecutiveLosses) losing trades in a row", untilMs: until, atMs: ctx.nowMs)
            try ctx.db.setValue(String(history.closed), forKey: "losses_breaker_at_closed", atMs: ctx.nowMs)
            Alerts.send(ctx, kind: "breaker", key: "losses-\(history.closed)",
                        text: "⛔ \(history.consecutiveLosses) losing trades in a row: new entries paused for \(ctx.config.risk.breakerCooldownMinutes) min")
            notes.append("loss breaker opened")
        }

        // The scorecard and the edge breaker (Steps+Scorecard.swift), after the loss breaker: it reads
        // candles and the exchange, and nothing there may keep the loss breaker from its check.
        // evaluate measures backtests.
        if ctx.step != .backtest {
            do { notes += try await labelSignalsAndCheckEdge(ctx, ex: ex) } catch { failed("the analyst scorecard", error) }
        }
        let changes = notes.filter { !$0.isEmpty }
        guard failures.isEmpty else {
            let temporary = failures.allSatisfy { f in
                if case .tryLater? = f.error as? StepError { return true }
                return (f.error as? ExchangeError)?.isTemporary ?? false
            }
            let message = "reconcile: could not handle " + failures.map { "\($0.what) (\($0.error))" }.joined(separator: "; ")
                + (changes.isEmpty ? "" : "; done: " + changes.joined(separator: "; "))
            return StepReport(outcome: temporary ? "try_later" : "failed", message: message, exit: temporary ? .tryLater : .failed)
        }
        return StepReport(outcome: changes.isEmpty ? "nothing_to_do" : "ok",
                          message: changes.isEmpty ? "reconcile: in agreement with the exchange" : "reconcile: " + changes.joined(separator: "; "))
    }

    /// A position the exchange holds: confirm it, agree on its size, make sure it has a stop and a target.
    static func reconcileLive(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow, live: ExchangePosition, openAlgos: [AlgoOrder]?,
                              rules: (String) async throws -> SymbolRules?) async throws -> [String] {
        var notes: [String] = []
        let size = abs(live.positionAmt)
        if p.status == "opening" {
            try ctx.db.markPositionOpen(id: p.id, entryPrice: live.entryPrice, quantity: size, atMs: ctx.nowMs)
            notes.append("\(p.symbol): entry confirmed on the exchange")
        } else if live.side != p.side {
            Alerts.send(ctx, kind: "error", key: "side-\(p.id)-\(live.positionAmt.plainString)",
                        text: "🚨 \(p.symbol): gobot's position is \(p.side.rawValue) but the exchange holds \(live.positionAmt.plainString); its protective orders are on the wrong side. Close it by hand or run gobot halt --flatten")
            notes.append("\(p.symbol): exchange holds \(live.positionAmt.plainString), not a \(p.side.rawValue) position")
            // Protect what is really there, on its own side, as for a position gobot did not open.
            return notes + (try await protectUnmanaged(ctx, ex: ex, live: live, openAlgos: openAlgos, rules: rules))
        } else if size != p.quantity {
            try ctx.db.correctPositionQuantity(id: p.id, quantity: size, entryPrice: live.entryPrice, was: p.quantity, atMs: ctx.nowMs)
            Alerts.send(ctx, kind: "risk", key: "size-\(p.id)-\(size.plainString)",
                        text: "⚠️ \(p.symbol): the exchange holds \(size.plainString), gobot had recorded \(p.quantity.plainString); corrected (the closePosition stop covers the real size)")
            notes.append("\(p.symbol): size corrected from \(p.quantity.plainString) to \(size.plainString)")
        }
        let onSymbol: [AlgoOrder]
        if let openAlgos { onSymbol = openAlgos } else { onSymbol = try await ex.openAlgoOrders(symbol: p.symbol) }
        // Only gobot's own orders protect gobot's position: an old stop of the owner's far below
        // must not stand in for gobot's 2 % stop.
        let mine = onSymbol.filter { $0.symbol == p.symbol && $0.side == p.side.exitSide && ClientOrderId.isGobots($0.clientAlgoId) }
        // A gobot order placed while its row could not be written (full disk) gets its row now.
        var recorded = try ctx.db.recordedClientOrderIds(mine.map(\.clientAlgoId))
        for a in mine {
            // Inserted once even if the listing repeats it (a second insert would fail the run's stop repair).
            guard recorded.insert(a.clientAlgoId).inserted else { continue }
            try ctx.db.recordIntent(clientOrderId: a.clientAlgoId, positionId: p.id, symbol: p.symbol, side: a.side,
                                    purpose: a.orderType == "STOP_MARKET" ? "stop" : "take_profit", type: a.orderType, quantity: size,
                                    triggerPrice: a.triggerPrice, atMs: ctx.nowMs)
            try ctx.db.updateOrder(clientOrderId: a.clientAlgoId, status: "open", exchangeOrderId: a.algoId, atMs: ctx.nowMs)
            notes.append("\(p.symbol): recorded \(a.orderType) \(a.clientAlgoId) found on the exchange")
        }
        // Only a waiting closePosition order protects the whole position: a stop stuck in
        // TRIGGERING, or one for a fixed quantity, does not count.
        let hasStop = mine.contains { $0.orderType == "STOP_MARKET" && $0.algoStatus == "NEW" && $0.closePosition }
        let hasTarget = mine.contains { $0.orderType == "TAKE_PROFIT_MARKET" && $0.algoStatus == "NEW" && $0.closePosition }
        if !hasStop || !hasTarget, let r = try await rules(p.symbol) {
            let result = try await protect(ctx, ex: ex, positionId: p.id, rules: r, pricesFromFill: false, have: (hasStop, hasTarget))
            notes.append("\(p.symbol): repaired protection (\(result.text))")
            if !hasStop {
                Alerts.send(ctx, kind: "error", key: "repair-\(p.id)-\(ctx.nowMs / 60_000)", text: "🛠 \(p.symbol): stop-loss was missing; \(result.text)")
            }
        }
        return notes
    }

    /// Places a stop on a position gobot did not open (no target: it is not gobot's trade).
    static func protectUnmanaged(_ ctx: StepContext, ex: any FuturesExchange, live: ExchangePosition, openAlgos: [AlgoOrder]?,
                                 rules: (String) async throws -> SymbolRules?) async throws -> [String] {
        let symbol = live.symbol
        let key = "unmanaged-\(symbol)"
        Alerts.send(ctx, kind: "risk", key: "\(key)-\(TradingCalendar.startOfDay(ctx.nowMs))",
                    text: "⚠️ \(symbol) has a position gobot did not open (\(live.positionAmt.plainString)); it gets a stop only")
        let onSymbol: [AlgoOrder]
        if let openAlgos { onSymbol = openAlgos } else { onSymbol = try await ex.openAlgoOrders(symbol: symbol) }
        let exitSide: OrderSide = live.positionAmt > 0 ? .sell : .buy
        guard !onSymbol.contains(where: { $0.symbol == symbol && $0.side == exitSide && $0.orderType == "STOP_MARKET" && $0.algoStatus == "NEW" }),
              let r = try await rules(symbol), let side = live.side else { return [] }
        let stop = ProtectivePrices.compute(side: side, entry: live.entryPrice, stopPercent: ctx.config.trading.stopLossPercent,
                                            targetPercent: ctx.config.trading.takeProfitPercent, tickSize: r.tickSize).stop
        // Intent first like every order; the minute in the id makes a retry after an unknown
        // outcome a new, recorded attempt rather than a blind resend.
        let target = ExitTarget(unmanaged: live, stem: "adopt-\(symbol)-\(ctx.nowMs / 60_000)")
        switch await placeProtective(ctx, ex: ex, target: target, kind: .stopMarket, price: stop, clientId: try nextClientId(ctx, target: target, purpose: .stop)) {
        case .placed:
            return ["\(symbol): placed a stop at \(stop.plainString) on an unmanaged position"]
        case .rejected(let error), .unknown(let error):
            Alerts.send(ctx, kind: "error", key: "\(key)-stopfail-\(ctx.nowMs / 60_000)",
                        text: "🚨 \(symbol): stop for the unmanaged position not placed (\(error)); close it by hand or run gobot halt --flatten")
            return ["\(symbol): could not stop the unmanaged position (\(error))"]
        }
    }

    /// Looks up one order of unknown outcome and records what the exchange says.
    static func resolve(_ ctx: StepContext, ex: any FuturesExchange, order o: OrderRow) async throws -> String {
        let (note, changed) = try await lookUp(ctx, ex: ex, order: o)
        if changed { try ctx.db.audit(atMs: ctx.nowMs, actor: "reconcile", action: "recovery", detail: note) }
        return note
    }

    /// What the exchange says of one order; `changed` is false while it may still be in flight.
    static func lookUp(_ ctx: StepContext, ex: any FuturesExchange, order o: OrderRow) async throws -> (String, Bool) {
        if o.purpose == "stop" || o.purpose == "take_profit" {
            if let algo = try await ex.queryAlgoOrder(clientAlgoId: o.clientOrderId) {
                let status: String?
                if let s = algoRowStatus(algo) {
                    status = s
                } else if algo.algoStatus == "TRIGGERED" || algo.algoStatus == "FINISHED" {
                    // Reached the matching engine; only its own fill says it closed the position.
                    let filled = try await algoFilled(ctx, ex: ex, algo: algo, sinceLocalMs: o.createdAtMs)
                    status = filled ? "filled" : algo.algoStatus == "FINISHED" ? "canceled" : nil
                } else {
                    status = nil
                }
                guard let status else {
                    return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) is \(algo.algoStatus), fill not seen yet; looked up again next run", false)
                }
                try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: status, exchangeOrderId: algo.algoId, atMs: ctx.nowMs)
                return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) found (\(algo.algoStatus))", true)
            }
            guard ctx.intentIsSettled(createdAtMs: o.createdAtMs) else { return (inFlightNote(o), false) }
            try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "expired", error: "not on the exchange", atMs: ctx.nowMs)
            return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) never reached the exchange", true)
        }
        if let found = try await ex.queryOrder(symbol: o.symbol, clientOrderId: o.clientOrderId) {
            let status = orderRowStatus(found)
            try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: status, exchangeOrderId: found.orderId, avgPrice: found.avgPrice,
                                   executedQty: found.executedQty, atMs: ctx.nowMs)
            if o.purpose == "entry", found.isFinal, found.executedQty > 0, let pid = o.positionId, let p = try ctx.db.position(id: pid), p.status == "opening" {
                try ctx.db.markPositionOpen(id: pid, entryPrice: found.avgPrice, quantity: found.executedQty, atMs: ctx.nowMs)
            }
            let changed = status != o.status || found.executedQty != o.executedQty
            return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) found \(found.status)", changed)
        }
        // Seen on the exchange before: its absence now is no proof it never executed; the
        // position follows what the exchange holds.
        if o.status == "open" {
            guard ctx.intentIsSettled(createdAtMs: o.createdAtMs) else { return ("", false) }
            if (o.executedQty ?? 0) == 0 {
                // Nothing of it ever filled and it is gone: it expired (its position step frees the symbol).
                try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "expired", error: "no longer listed by the exchange", atMs: ctx.nowMs)
                return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) no longer listed, nothing filled: expired", true)
            }
            // Partly filled and gone: the position follows the exchange's; say it once a day.
            Alerts.send(ctx, kind: "error", key: "unlisted-\(o.clientOrderId)-\(TradingCalendar.startOfDay(ctx.nowMs))",
                        text: "⚠️ \(o.symbol): \(o.purpose) \(o.clientOrderId) (filled \((o.executedQty ?? 0).plainString)) is no longer listed by the exchange; its position follows the exchange's")
            return ("", false)
        }
        // Not found may only mean "not arrived yet": Binance executes a request until its signed
        // timestamp + recvWindow, so "never sent" waits until that has surely passed.
        guard ctx.intentIsSettled(createdAtMs: o.createdAtMs) else { return (inFlightNote(o), false) }
        try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "rejected", error: "not on the exchange", atMs: ctx.nowMs)
        if o.purpose == "entry", let pid = o.positionId {
            try ctx.db.failPosition(id: pid, reason: "entry \(o.clientOrderId) never reached the exchange", atMs: ctx.nowMs)
        }
        return ("\(o.symbol): \(o.purpose) \(o.clientOrderId) never reached the exchange", true)
    }

    static func inFlightNote(_ o: OrderRow) -> String {
        "\(o.symbol): \(o.purpose) \(o.clientOrderId) not found yet, may still be in flight; looked up again next run"
    }

    /// Whether a triggered conditional order's own order (actualOrderId) filled.
    static func algoFilled(_ ctx: StepContext, ex: any FuturesExchange, algo: AlgoOrder, sinceLocalMs: Int64) async throws -> Bool {
        guard !algo.actualOrderId.isEmpty else { return false }
        let trades = try await userTrades(ctx, ex: ex, symbol: algo.symbol, fromLocalMs: sinceLocalMs)
        return trades.contains { $0.orderId == algo.actualOrderId }
    }

    /// Binance answers at most 7 days of fills a query.
    static let historyWindowMs: Int64 = 7 * 86_400_000 - 1
    /// How long a position whose fills do not show its close must be listed flat before its row
    /// closes anyway: longer than any listing lag, short enough not to hold a slot for long.
    static let flatConfirmMs: Int64 = 15 * 60_000
    static func flatWithoutFillKey(_ positionId: Int64) -> String { "flat_without_fill:\(positionId)" }
    /// The most fills one userTrades answer holds (gobot asks for Binance's maximum, 1000).
    static let userTradesPageSize = 1000

    /// The most pages of one millisecond's fills read by id before the look-up gives up.
    static let maxFillPagesPerMs = 100

    /// The rest of millisecond `ms`'s fills after a full page of them, read by fill id (Binance's
    /// ids grow with time; `fromId` takes no times). Fails rather than return part of it.
    static func fillsByID(_ ex: any FuturesExchange, symbol: String, inMs ms: Int64, after page: [UserTrade]) async throws -> [UserTrade] {
        func id(_ t: UserTrade) throws -> Int64 {
            guard let n = Int64(t.id) else { throw StepError.failed("fills of \(symbol): fill id '\(t.id)' is not a number, so fills in \(ms) ms cannot be paged by id") }
            return n
        }
        var out: [UserTrade] = [], seen = Set(page.map(\.id))
        var next = try page.map(id).max()! + 1
        for _ in 0..<maxFillPagesPerMs {
            let more = try await ex.userTrades(symbol: symbol, fromId: next)
            let fresh = more.filter { seen.insert($0.id).inserted }
            guard more.isEmpty || !fresh.isEmpty else {
                throw StepError.failed("fills of \(symbol) from id \(next): the answer brought nothing new; fills in \(ms) ms may be missing, gobot books nothing from this look-up")
            }
            out += fresh.filter { $0.timeMs == ms }
            // Done at the end of the history or once the answer leaves this millisecond.
            if more.count < userTradesPageSize || more.contains(where: { $0.timeMs > ms }) { return out }
            next = try more.map(id).max()! + 1
        }
        throw StepError.failed("fills of \(symbol): more than \(maxFillPagesPerMs) pages in the one millisecond \(ms); gobot books nothing from this look-up")
    }

    /// Fills on `symbol` since a local time, in windows of at most 7 days on the exchange's clock.
    static func userTrades(_ ctx: StepContext, ex: any FuturesExchange, symbol: String, fromLocalMs: Int64) async throws -> [UserTrade] {
        let offset = try ctx.exchangeOffsetMs()
        let end = ctx.nowMs + offset + StepContext.windowMarginMs
        var start = fromLocalMs + offset - StepContext.windowMarginMs
        var trades: [UserTrade] = [], seen = Set<String>()
        while start <= end {
            let windowEnd = min(start + historyWindowMs, end)
            let page = try await ex.userTrades(symbol: symbol, startMs: start, endMs: windowEnd)
            // An answer outside the window asked for (an endpoint that ignores the times) cannot be
            // paged: moving on by its times would crawl, or skip.
            if let stray = page.first(where: { $0.timeMs < start || $0.timeMs > windowEnd }) {
                throw StepError.failed("fills of \(symbol): asked for \(start)...\(windowEnd) ms, the answer holds a fill at \(stray.timeMs) ms; gobot books nothing from this look-up")
            }
            for t in page where seen.insert(t.id).inserted { trades.append(t) }
            // A full page (1000) may hide more in the same window: go on from its last fill.
            if page.count >= userTradesPageSize, let last = page.map(\.timeMs).max() {
                if last > start { start = last; continue }
                // A whole page in one millisecond: paging by time would skip the rest of it, so
                // that millisecond is read on by fill id.
                for t in try await fillsByID(ex, symbol: symbol, inMs: start, after: page) where seen.insert(t.id).inserted { trades.append(t) }
                start += 1
                continue
            }
            start = windowEnd + 1
        }
        return trades.sorted { (a: UserTrade, b: UserTrade) in
            a.timeMs != b.timeMs ? a.timeMs < b.timeMs : (Int64(a.id) ?? .max, a.id) < (Int64(b.id) ?? .max, b.id)
        }
    }

    /// The USDT value of an amount paid in `asset` at `atMs` (exchange time): the 1m close of
    /// <ASSET>USDT at that minute. A fee paid in BNB is worth hundreds of times its BNB amount.
    static func usdtValue(_ ctx: StepContext, ex: any FuturesExchange, amount: Decimal, asset: String, atMs: Int64) async throws -> Decimal {
        guard asset != "USDT" else { return amount }
        guard !asset.isEmpty, asset.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
            throw StepError.failed("the exchange reported an amount in asset \"\(asset)\", which gobot cannot value in USDT")
        }
        let minute = atMs / 60_000 * 60_000
        let candles = try await ex.klines(symbol: "\(asset)USDT", interval: .m1, startMs: minute, limit: 1)
        guard let candle = candles.first(where: { $0.openTimeMs == minute }) ?? candles.first, let price = Decimal(price: candle.close), price > 0 else {
            throw StepError.failed("no \(asset)USDT price at \(minute) to value \(amount.plainString) \(asset) in USDT; booked on a later run")
        }
        return (amount * price).rounded(scale: 8)
    }

    /// Books a position the exchange has closed, and cancels its remaining protective order.
    static func bookClose(_ ctx: StepContext, ex: any FuturesExchange, p: PositionRow) async throws -> String {
        let orders = try ctx.db.orders(positionId: p.id)
        var trades = try await userTrades(ctx, ex: ex, symbol: p.symbol, fromLocalMs: p.openedAtMs)
        // Only this position's fills: from its entry fill on, when gobot knows the entry's order id.
        if let entryOrderId = orders.first(where: { $0.purpose == "entry" })?.exchangeOrderId,
           let entryFill = trades.first(where: { $0.orderId == entryOrderId }) {
            trades = trades.filter { $0.timeMs >= entryFill.timeMs }
        }
        let entrySide = p.side.entrySide
        let closing = trades.filter { $0.side != entrySide }
        let realized = closing.reduce(Decimal(0)) { $0 + $1.realizedPnl }
        var fees = Decimal(0)
        // A fee that cannot be valued now (no <ASSET>USDT price) must not keep the position open
        // in the database, blocking its symbol and a position slot: the position closes with the
        // fees that could be valued, and says so. The ledger books that fee from the income
        // history with its asset (bookIncome), so the loss limits still count it once it is valued,
        // and adds it to the position's fees then.
        var unvalued: [String] = [], unvaluedFees: [UnvaluedFee] = []
        for t in trades {
            do { fees += try await usdtValue(ctx, ex: ex, amount: t.commission, asset: t.commissionAsset, atMs: t.timeMs) }
            catch let error as ExchangeError where error.isTemporary {
                throw error  // a passing failure (429, 5xx, ban): book the whole close on a later run
            } catch {
                unvalued.append("\(t.commission.plainString) \(t.commissionAsset)")
                unvaluedFees.append(UnvaluedFee(timeMs: t.timeMs, asset: t.commissionAsset, amount: t.commission, tradeId: t.id.isEmpty ? nil : t.id))
            }
        }
        if !unvalued.isEmpty {
            Alerts.send(ctx, kind: "error", key: "fee-unvalued-\(p.id)",
                        text: "⚠️ \(p.symbol) position \(p.id): fee \(unvalued.joined(separator: ", ")) could not be valued in USDT; the position's fees leave it out "
                            + "until the ledger books it, when a price exists")
        }
        let qty = closing.reduce(Decimal(0)) { $0 + $1.qty }
        // A flat listing whose fills do not close the whole position may be a listing that lags
        // or a passing empty answer: closing the row on it would let the orphan scan cancel the
        // stop under a live position. The row waits for the fills, or for the exchange to list
        // the symbol flat for `flatConfirmMs` (a position netted with the owner's, history gone).
        let flatKey = Self.flatWithoutFillKey(p.id)
        if qty < p.quantity {
            // A value that does not read is an error, not "not seen yet": the wait would start over unsaid.
            let restart = "the \(flatConfirmMs / 60_000)-minute wait for a flat listing starts again"
            let firstSeen = try ctx.db.value(forKey: flatKey).map { text in
                let ms = try storedMs(text, key: flatKey, then: restart)
                // Seen flat before the position was opened (both on the host clock) is damage or a
                // hand edit: read as a time it would end the wait at once, and the orphan scan could
                // then cancel the stop under a live position (review 17, L1).
                guard ms >= p.openedAtMs else {
                    throw GobotStore.RowDecodingError(table: "kv", column: "value (key \(flatKey))", value: text,
                                                      remedy: "it is before the position was opened (\(p.openedAtMs) ms); delete it "
                                                          + "(DELETE FROM kv WHERE key = '\(flatKey)') and \(restart)")
                }
                return ms
            }
            if firstSeen == nil { try ctx.db.setValue(String(ctx.nowMs), forKey: flatKey, atMs: ctx.nowMs) }
            let waited = ctx.nowMs - (firstSeen ?? ctx.nowMs)
            if waited < flatConfirmMs {
                throw StepError.tryLater("\(p.symbol) position \(p.id): the exchange lists no position but the fills found close \(qty.plainString) of "
                                         + "\(p.quantity.plainString); the position and its stop stay until a fill shows how it closed, or until the "
                                         + "symbol has been listed flat for \(flatConfirmMs / 60_000) min (\(waited / 60_000) so far)")
            }
        }
        try ctx.db.deleteValue(forKey: flatKey)
        let exitPrice = qty > 0 ? closing.reduce(Decimal(0)) { $0 + $1.price * $1.qty } / qty : nil
        var reason = "closed outside gobot"
        for o in orders where o.purpose == "stop" || o.purpose == "take_profit" || o.purpose == "close" {
            if o.purpose == "close" {
                if o.status == "filled" { reason = "closed by gobot" }
                continue
            }
            guard let algo = try await ex.queryAlgoOrder(clientAlgoId: o.clientOrderId) else { continue }
            if algo.algoStatus == "FINISHED" || algo.algoStatus == "TRIGGERED" {
                // Counted as the exit only with its own fill; FINISHED also means cancelled in the engine.
                if !algo.actualOrderId.isEmpty, closing.contains(where: { $0.orderId == algo.actualOrderId }) {
                    reason = o.purpose == "stop" ? "stop-loss" : "take-profit"
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "filled", atMs: ctx.nowMs)
                } else {
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "canceled", atMs: ctx.nowMs)
                }
            } else if algo.isOpen {
                // The sibling. If the cancel fails while it is still open, the orphan scan retries
                // it; if it ended meanwhile (expired, cancelled), its row records how.
                do {
                    try await ex.cancelAlgoOrder(clientAlgoId: o.clientOrderId)
                    try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: "canceled", atMs: ctx.nowMs)
                } catch {
                    if let now = try? await ex.queryAlgoOrder(clientAlgoId: o.clientOrderId), !now.isOpen {
                        // Triggered or finished meanwhile: filled only with a fill of its own.
                        let ownFill = !now.actualOrderId.isEmpty && closing.contains { $0.orderId == now.actualOrderId }
                        try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: algoRowStatus(now) ?? (ownFill ? "filled" : "canceled"), atMs: ctx.nowMs)
                    }
                }
            } else if let status = algoRowStatus(algo) {
                try ctx.db.updateOrder(clientOrderId: o.clientOrderId, status: status, atMs: ctx.nowMs)
            }
        }
        try ctx.db.closePosition(id: p.id, exitPrice: exitPrice?.rounded(scale: 8), reason: reason, realizedPnl: realized, fees: fees, atMs: ctx.nowMs,
                                 unvaluedFees: unvaluedFees)
        let net = realized - fees + p.funding
        let how = reason.hasPrefix("closed") ? reason : "closed by \(reason)"
        Alerts.send(ctx, kind: "trade_closed", key: "closed-\(p.id)",
                    text: "\(net >= 0 ? "✅" : "❌") \(p.side.rawValue) \(p.symbol) \(how): P&L \(realized.rounded(scale: 4)) USD, fees \(fees.rounded(scale: 4))")
        return "\(p.symbol): \(how), P&L \(realized.rounded(scale: 4)) fees \(fees.rounded(scale: 4))"
            + (unvalued.isEmpty ? "" : " (not valued: \(unvalued.joined(separator: ", ")))")
    }

    /// Income records may be published a little after their time: each run asks again for the
    /// last minutes (booking is idempotent by tranId).
    static let incomeOverlapMs: Int64 = 10 * 60_000
    /// How far the income cursor moves before it is stored again.
    static let incomeCursorStrideMs: Int64 = 60 * 60_000
    /// Pages read for one millisecond before giving up: far beyond any real account, a bound
    /// against an endpoint that answers new full pages forever.
    static let maxIncomePagesPerMs = 100

    /// Fails the booking, before anything of the answer is booked or the cursor moves, when a
    /// record lies outside the `[start, end]` asked for.
    static func checkIncomeWindow(_ records: [IncomeRecord], start: Int64, end: Int64) throws {
        if let stray = records.first(where: { $0.timeMs < start || $0.timeMs > end }) {
            throw StepError.failed("income: asked for \(start)...\(end) ms, the answer holds a record at \(stray.timeMs) ms; "
                                   + "gobot books nothing from this answer and the income cursor stays")
        }
    }

    /// Where reconcile's income booking has got to, on the exchange's clock (trade reads it too).
    static let incomeCursorKey = "income_cursor_ms"

    /// How far back reconcile reads income at most on Binance, which keeps three months of it.
    static let incomeKeptMs: Int64 = 100 * TradingCalendar.dayMs

    /// The stored income cursor; one that does not read is an error, not a restart.
    static func incomeCursor(_ text: String) throws -> Int64 {
        try storedMs(text, key: incomeCursorKey, then: "reconcile reads the last 7 days of income again, each record booked once")
    }

    /// A time in ms stored in kv under `key`; one that does not read is an error whose remedy is to
    /// delete it, after which `then` happens.
    ///
    /// gobot writes these as `String(Int64)` of a time in ms: 13 digits, no sign, no leading zero
    /// (2001 to 2286; no date floor beyond that: a backtest's or `GOBOT_NOW_MS`'s replay clock
    /// may run in 2017 on spot dumps, review 16 M1). Anything else is damage or a hand edit, and
    /// reading it as a time would act on it: a
    /// flat sighting of "0" or "-5" would end the wait for a flat listing at once (and the orphan
    /// scan could then cancel the stop under a live position), an income cursor of "0" walks 7-day
    /// windows from 1970 (thousands of requests in one run), and `Int64.min` traps the subtraction
    /// that measures the wait or the lag (review 13, L3).
    static func storedMs(_ text: String, key: String, then: String) throws -> Int64 {
        guard text.utf8.count == 13, text.utf8.first != UInt8(ascii: "0"),
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let ms = Int64(text) else {
            throw GobotStore.RowDecodingError(table: "kv", column: "value (key \(key))", value: text,
                                              remedy: "it must be a time in ms since 1970 (13 digits, no sign, no leading zero); delete it (DELETE FROM kv WHERE key = '\(key)') and \(then)")
        }
        return ms
    }

    /// The alerts a booked commission raises about the fees its closed position waits for.
    static func feeAlerts(_ ctx: StepContext, record r: IncomeRecord, fee: UnvaluedFee, usdt: Decimal, positionId: Int64,
                          valuation v: FeeValuation) -> [QueuedMessage] {
        let key = UnvaluedFee.key(positionId: positionId), ref = r.ledgerRef
        switch v.match {
        case .lookalike:
            return Alerts.messages(ctx, kind: "error", key: "fee-unmatched-\(positionId)-\(ref)",
                                   text: "⚠️ \(r.symbol) position \(positionId): the ledger booked a fee of \(fee.amount.plainString) \(r.asset) at \(r.timeMs) ms "
                                       + "whose asset and amount are those of a fee the position closed without, at another time (kv key \(key)); "
                                       + "it may be that fee: if so the position's own fees are short of it (the loss limits, from the ledger, count it); check before correcting")
        case .fee(let i):
            // The same fill by its id, another figure: the position's fees take the ledger's.
            let w = v.waiting[i]
            guard let trade = w.tradeId, w.asset != fee.asset || w.amount != fee.amount else { return [] }
            return Alerts.messages(ctx, kind: "error", key: "fee-differs-\(positionId)-\(ref)",
                                   text: "⚠️ \(r.symbol) position \(positionId): the ledger booked the fee of trade \(trade) the position closed without "
                                       + "(kv key \(key)) as \(fee.amount.plainString) \(r.asset), its fill said \(w.amount.plainString) \(w.asset); "
                                       + "it is that fee: the position's fees now hold the ledger's \((-usdt).plainString) USDT")
        case .none:
            return []
        }
    }

    /// Realized P&L, commission and funding from the income history, in windows of at most 7 days
    /// on the exchange's clock; the cursor advances past empty windows.
    static func bookIncome(_ ctx: StepContext, ex: any FuturesExchange) async throws -> [String] {
        let key = incomeCursorKey
        // The cursor and the clock offset (``StepContext/exchangeOffsetMs()``) in one read.
        let values = try ctx.db.values(forKeys: [key, DatabaseExchangeState.offsetKey])
        let offset = try DatabaseExchangeState.clockSync(stored: values[DatabaseExchangeState.offsetKey])?.offsetMs ?? 0
        let margin = StepContext.windowMarginMs
        let now = ctx.nowMs + offset  // exchangeNowMs, with the offset read once
        // A cursor that does not read is an error, not a restart. One ahead of now (a host clock
        // set back, a damaged value) must not skip income until now catches up, and says nothing
        // of what was read before: the last 7 days are read again (each record is booked once, by
        // its ref), and the cursor is written back from there.
        let stored = values[key]
        let saved = try stored.flatMap { text -> Int64? in
            let ms = try incomeCursor(text)
            return ms <= now ? ms : nil
        }
        if let stored, let ms = Int64(stored), ms > now + margin {
            Alerts.send(ctx, kind: "error", key: "income-cursor-ahead-\(TradingCalendar.startOfDay(now))",
                        text: "⚠️ the income cursor was \((ms - now) / 60_000) min ahead of the exchange's clock; the last 7 days of income are read again")
        }
        var start = saved ?? (TradingCalendar.startOfDay(now) - 7 * TradingCalendar.dayMs)
        // Binance keeps three months of income: a cursor older than that (gobot stopped for months,
        // a hand-edited or damaged value from 2001) would walk weekly windows that can only come
        // back empty, a thousand requests from 2001. Read from the oldest time the exchange may
        // still answer for, and say so. The paper exchange keeps every record it made (an outage
        // it replays books its funding then), so its cursor is followed as it stands.
        if ctx.config.exchange.environment != .paper, start < now - incomeKeptMs {
            Alerts.send(ctx, kind: "error", key: "income-cursor-old-\(TradingCalendar.startOfDay(now))",
                        text: "⚠️ the income cursor was \((now - start) / TradingCalendar.dayMs) days old; Binance keeps three months of income: "
                            + "reconcile reads the last \(incomeKeptMs / TradingCalendar.dayMs) days, and older income is not in the ledger")
            start = now - incomeKeptMs
        }
        var booked = 0, fundingNotes: [String] = []
        var waiting: (timeMs: Int64, error: any Error)?
        // Read only when a record is booked: most runs have nothing new, and the whole position
        // history was the largest read of a reconcile.
        var ownersRead: [PositionRow]?
        func owners() throws -> [PositionRow] {
            if let ownersRead { return ownersRead }
            let rows = try ctx.db.positions().filter { $0.status != "failed" }
            ownersRead = rows
            return rows
        }
        while start <= now {
            let end = min(start + historyWindowMs, now)
            var records = try await ex.income(startMs: start, endMs: end).sorted { $0.timeMs < $1.timeMs }
            // An answer outside the window asked for (an endpoint that ignores the times) cannot be
            // paged: moving on by its times would crawl back and forth, or skip (as for fills).
            try Self.checkIncomeWindow(records, start: start, end: end)
            // A full page that never leaves the window's first millisecond: moving the time cursor
            // past it would skip the rest of that millisecond, so it is read page by page.
            var pagedFirstMs = false
            if records.count >= IncomeRecord.pageSize, records.last?.timeMs == start {
                var page = 1, more = records
                var seen = Set(records.map(\.ledgerRef))
                while more.count >= IncomeRecord.pageSize {
                    page += 1
                    more = page <= maxIncomePagesPerMs ? try await ex.income(startMs: start, endMs: start, page: page) : []
                    try Self.checkIncomeWindow(more, start: start, end: start)
                    let fresh = more.filter { seen.insert($0.ledgerRef).inserted }
                    // An empty page is the end. Past the page limit, or a page with nothing new (an
                    // endpoint that ignores `page`): what was read is booked, the cursor stays
                    // before this millisecond, the run fails.
                    if page > maxIncomePagesPerMs || (!more.isEmpty && fresh.isEmpty) {
                        if waiting == nil {
                            waiting = (start, StepError.failed("income at \(start) ms: \(records.count) records read in \(page - 1) full pages and page \(page) "
                                                               + "brought nothing new; the ledger may miss the rest of that millisecond, the next reconcile reads it again"))
                        }
                        break
                    }
                    records += fresh
                }
                pagedFirstMs = true
            }
            // The overlap and the cursor's stride bring back records already booked: one read says which.
            let alreadyBooked = try ctx.db.bookedLedgerRefs(records.map(\.ledgerRef))
            for r in records {
                let kind: String
                switch r.incomeType {
                case "REALIZED_PNL": kind = "realized_pnl"
                case "COMMISSION": kind = "commission"
                case "FUNDING_FEE": kind = "funding"
                case "INSURANCE_CLEAR": kind = "commission"  // the liquidation clearance fee: a cost like a fee
                default: continue
                }
                let ref = r.ledgerRef
                guard !alreadyBooked.contains(ref) else { continue }
                // One record that cannot be valued yet must not keep the rest (the realized P&L the
                // loss limits read) out of the ledger: it waits, the cursor stops before it.
                let usdt: Decimal
                do { usdt = try await usdtValue(ctx, ex: ex, amount: r.income, asset: r.asset, atMs: r.timeMs) } catch {
                    if waiting == nil { waiting = (r.timeMs, error) }
                    continue
                }
                let owner = try owners().last { (p: PositionRow) -> Bool in
                    let from: Int64 = p.openedAtMs + offset - margin
                    let to: Int64 = p.closedAtMs.map { $0 + offset + margin } ?? Int64.max
                    return p.symbol == r.symbol && from <= r.timeMs && to >= r.timeMs
                }
                // The ledger row and the position's funding, or a fee its close left out, in one
                // transaction (both or neither).
                // Only a COMMISSION is a fill's fee: a liquidation's INSURANCE_CLEAR may carry the
                // same fill's trade id and must not take the waiting commission's place (review 15, L1).
                let fee = r.incomeType == "COMMISSION" && owner?.status == "closed"
                    ? UnvaluedFee(timeMs: r.timeMs, asset: r.asset, amount: -r.income, tradeId: r.tradeId) : nil
                // Fees the closed owner still waits for, matched by trade id (the record's time is
                // not documented to be its fill's). Where a trade id is missing on either side, a
                // commission of a waiting fee's asset and amount at another time must not leave the
                // position's fees short silently (review 10, L3): it alerts. A fee the close already
                // valued is booked here too, and another trade's id says it is not a waiting fee.
                // Decided and queued in the booking's transaction (review 12, L2).
                let report: (@Sendable (FeeValuation) -> [QueuedMessage])? = owner.flatMap { owner in fee.map { fee in
                    { @Sendable [ctx, r, usdt] v in Self.feeAlerts(ctx, record: r, fee: fee, usdt: usdt, positionId: owner.id, valuation: v) }
                } }
                if try ctx.db.addLedger(atMs: r.timeMs, symbol: r.symbol, kind: kind, amount: usdt, positionId: owner?.id, ref: ref,
                                        asset: r.asset, assetAmount: r.income, addsFunding: kind == "funding", valuesFee: fee, reportFee: report) {
                    booked += 1
                    if kind == "funding", owner != nil { fundingNotes.append("\(r.symbol): funding \(usdt.plainString)") }
                }
            }
            let next: Int64
            if pagedFirstMs { next = start + 1 } else if records.count >= IncomeRecord.pageSize, let last = records.last?.timeMs { next = last } else { next = end + 1 }
            // Never past now minus the overlap, never backwards. Stored when the window held
            // records, else once it has moved by `incomeCursorStrideMs` (a write every run was
            // most of a quiet reconcile's writes): until then a run reads up to that much empty
            // history again, and booking is idempotent.
            let cursor = max(saved ?? .min, min(next, now - incomeOverlapMs, (waiting?.timeMs ?? .max) - 1))
            if !records.isEmpty || saved.map({ cursor - $0 >= incomeCursorStrideMs }) ?? true {
                try ctx.db.setValue(String(cursor), forKey: key, atMs: ctx.nowMs)
            }
            start = next
        }
        if let waiting { throw waiting.error }
        return booked > 0 ? ["booked \(booked) ledger entries"] + fundingNotes : []
    }

    /// Closes every position at the size the exchange holds, then cancels protective orders of
    /// the symbols that are confirmed flat (halt --flatten). A failed close keeps its stop.
    static func flattenAll(_ ctx: StepContext) async throws -> (text: String, flat: Bool) {
        let ex = try ctx.requireExchange()
        var closed = 0, cancelled = 0
        let booked = try ctx.db.livePositions()
        var failures: [String] = []
        for live in try await ex.positions() where live.positionAmt != 0 {
            var target = booked.first(where: { $0.symbol == live.symbol }).map(ExitTarget.init)
                ?? ExitTarget(unmanaged: live, stem: "flat-\(live.symbol)-\(ctx.nowMs / 1000)")
            target.quantity = abs(live.positionAmt)
            target.side = live.positionAmt > 0 ? .sell : .buy
            // One position's failure (even writing its intent row) must not leave the others open.
            do {
                let result = try await closeAtMarket(ctx, ex: ex, target: target, reason: "halt --flatten")
                if result.confirmed { closed += 1 } else { failures.append("\(live.symbol): \(result.text)") }
            } catch {
                failures.append("\(live.symbol): \(error)")
            }
        }
        // Confirmed by the exchange: only symbols it shows flat lose their protective orders.
        // If it cannot be asked, nothing is cancelled and the report says what was closed.
        var stillHeld = Set<String>()
        var notGobots: [String] = []
        do {
            stillHeld = Set(try await ex.positions().filter { $0.positionAmt != 0 }.map(\.symbol))
            let symbols = Set(try await ex.openAlgoOrders(symbol: nil).map(\.symbol))
            for symbol in symbols.sorted() where !stillHeld.contains(symbol) {
                let result = await cancelProtection(ctx, ex: ex, symbol: symbol)
                cancelled += result.cancelled
                notGobots += result.notGobots.map { "\(symbol) \($0)" }
            }
        } catch {
            failures.append("could not confirm which symbols are flat (\(error)); protective orders kept, run it again")
        }
        try ctx.db.audit(atMs: ctx.nowMs, actor: "cli", action: "flatten", detail: "cancelled \(cancelled) protective orders, closed \(closed) positions")
        var message = "flattened: cancelled \(cancelled) protective orders, closed \(closed) positions (reconcile books the P&L)"
        if !stillHeld.isEmpty { message += "; still held, protective orders kept: " + stillHeld.sorted().joined(separator: ", ") }
        if !failures.isEmpty { message += "; NOT closed: " + failures.joined(separator: "; ") }
        if !notGobots.isEmpty { message += "; left open, not placed by gobot: " + notGobots.joined(separator: ", ") }
        return (message, failures.isEmpty && stillHeld.isEmpty)
    }
}
