import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

/// Lost answers, refusals, odd statuses and ledger edge cases, on the paper exchange with faults
/// injected (issue #9 and #14). Each test fails on the code before these fixes.
@Suite struct MoneySafetyTests {
    /// Past the time an order request may still arrive (recvWindow + two timeouts + margin).
    static let pastInFlight = 2

    @Test func anEntryStillUnknownAfterLookUpsExits75AndReconcileWaitsForTheInFlightWindow() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .entryLostUnsent
        let report = try await Steps.trade(h.ctx)
        #expect(report.exit == .tryLater)
        #expect(report.message.contains("entry outcome unknown"))
        #expect(try h.db.outbox().contains { $0.kind == "error" && $0.payload.contains("gb-1-E outcome unknown") })
        // Right away the request could still be in flight: not "never sent", the symbol stays taken.
        let early = try await Steps.reconcile(h.ctx)
        #expect(early.message.contains("may still be in flight"))
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "unknown")
        #expect(try h.db.positions().map(\.status) == ["opening"])
        h.at(minute: 1 + Self.pastInFlight)
        let late = try await Steps.reconcile(h.ctx)
        #expect(late.message.contains("entry gb-1-E never reached the exchange"))
        #expect(try h.db.positions().map(\.status) == ["failed"])
        #expect(h.exchange.marketOrders == 0)
    }

    @Test func aMarketEntryThatExpiredUnfilledFreesTheSymbol() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .entryExpired
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("entry EXPIRED, nothing filled"))
        #expect(try h.db.positions().map(\.status) == ["failed"])
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "expired")
        #expect(try h.db.livePositions().isEmpty)  // max_open_positions slot and symbol free again
        h.at(minute: 5)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.livePositions().map(\.status) == ["open"])
    }

    @Test func aStopWhoseAnswerWasLostDoesNotSkipTheTargetAndIsRepairedLater() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .stopLostUnsent
        let report = try await Steps.trade(h.ctx)
        #expect(report.exit == .tryLater)
        #expect(report.message.contains("stop outcome unknown"))
        #expect(report.message.contains("target 2.08"))
        #expect(try await h.exchangeState().amt == 5)  // not closed on an unknown
        #expect(try h.db.order(clientOrderId: "gb-1-SL")?.status == "unknown")
        #expect(try h.db.outbox().contains { $0.payload.contains("stop-loss gb-1-SL outcome unknown") })
        h.at(minute: 1 + Self.pastInFlight)
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("stop gb-1-SL never reached the exchange"))
        #expect(r.message.contains("repaired protection (stop 1.96)"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        _ = try await Steps.reconcile(h.ctx)  // books the entry commission
        #expect(try await Steps.reconcile(h.ctx).message == "reconcile: in agreement with the exchange")
    }

    @Test func aDuplicateClientIdOnTheStopIsLookedUpNotTreatedAsARefusal() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .stopDuplicate
        let report = try await Steps.trade(h.ctx)
        #expect(report.exit == .ok)
        #expect(report.message.contains("stop 1.96, target 2.08"))
        #expect(try await h.exchangeState().amt == 5)
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(try h.db.order(clientOrderId: "gb-1-SL")?.status == "open")
        #expect(try !h.db.outbox().contains { $0.payload.contains("stop-loss rejected") })
        #expect(h.exchange.marketOrders == 1)  // no close at market
    }

    @Test func anUnresolvableOrderOnADelistedSymbolDoesNotBlockStopRepairElsewhere() async throws {
        var h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        h.ctx.config.risk.maxOpenPositions = 2
        // An old entry on a symbol the exchange no longer lists, outcome unknown.
        let old = try h.db.storeSignal(candidateId: nil, symbol: "OLDUSDT", atMs: h.clock.nowMs(),
                                       signal: Signal(direction: .long, confidence: 0.9, rationale: "", model: ""), referencePrice: 1, chartHashes: [])
        var plan = try RiskGate.evaluate(symbol: "XRPUSDT", signal: Signal(direction: .long, confidence: 0.8, rationale: "", model: ""),
                                         price: 2, rules: TradingHarness.xrp, state: RiskState(nowMs: h.clock.nowMs()),
                                         config: h.ctx.config, closedTrades: 0, wins: 0).get()
        plan.symbol = "OLDUSDT"
        _ = try h.db.recordEntryIntent(EntryIntent(plan: plan, signalId: old, entryClientId: "gb-\(old)-E"), atMs: h.clock.nowMs())
        try h.db.updateOrder(clientOrderId: "gb-\(old)-E", status: "unknown", error: "timeout", atMs: h.clock.nowMs())
        h.exchange.delisted = ["OLDUSDT"]
        h.at(minute: 5)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        try await h.exchange.cancelAlgoOrder(clientAlgoId: "gb-2-SL")  // the XRP stop is gone
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed)
        #expect(r.message.contains("OLDUSDT entry order gb-1-E"))
        #expect(r.message.contains("XRPUSDT: repaired protection (stop 1.96)"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(try h.db.outbox().contains { $0.payload.contains("reconcile could not handle OLDUSDT entry order") })
    }

    @Test func whenTheAccountWideOrderListingFailsEachPositionStillGetsItsStopRepaired() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        try await h.exchange.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        h.exchange.failAccountWideAlgoListing = true
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed)
        #expect(r.message.contains("the list of open conditional orders"))
        #expect(r.message.contains("XRPUSDT: repaired protection (stop 1.96)"))
        #expect(try await h.exchange.inner.openAlgoOrders(symbol: nil).map(\.orderType).sorted() == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
    }

    @Test func aSizeMismatchIsCorrectedAuditedAndAlerted() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        // Someone added 3 to the position by hand.
        _ = try await h.exchange.inner.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 3, reduceOnly: false, clientOrderId: "manual-1"))
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("XRPUSDT: size corrected from 5 to 8"))
        #expect(try h.db.livePositions().first?.quantity == 8)
        #expect(try h.db.auditEntries().contains { $0.action == "position_size_corrected" })
        #expect(try h.db.outbox().contains { $0.kind == "risk" && $0.payload.contains("exchange holds 8") })
        // The stop is closePosition: it covers the real size. Flatten closes the exchange's size.
        _ = try await Steps.halt(h.ctx, reason: "drill", flatten: true, actor: "test")
        #expect(try await h.exchangeState().amt == 0)
    }

    @Test func aPositionFlippedByHandGetsAStopOnItsRealSide() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        _ = try await h.exchange.inner.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 10, reduceOnly: false, clientOrderId: "manual-1"))
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("exchange holds -5, not a long position"))
        #expect(r.message.contains("placed a stop at 2.04"))
        let sides = try await h.exchange.inner.openAlgoOrders(symbol: "XRPUSDT").filter { $0.orderType == "STOP_MARKET" }.map(\.side)
        #expect(sides.contains(.buy))
        #expect(try h.db.outbox().contains { $0.kind == "error" && $0.payload.contains("exchange holds -5") })
    }

    @Test func aStopStuckInTriggeringIsNotCountedAsProtection() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.exchange.algoOverride["gb-1-SL"] = ("TRIGGERING", "")
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("repaired protection (stop 1.96)"))
        #expect(try h.db.order(clientOrderId: "gb-1-SL-2")?.status == "open")
    }

    @Test func aFinishedStopWithoutItsOwnFillIsNotBookedAsTheExit() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        // Closed by hand; the stop reports FINISHED (cancelled in the matching engine), no fill of its own.
        _ = try await h.exchange.inner.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 5, reduceOnly: true, clientOrderId: "manual-close"))
        try await h.exchange.inner.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        h.exchange.algoOverride["gb-1-SL"] = ("FINISHED", "")
        _ = try await Steps.reconcile(h.ctx)
        let p = try #require(try h.db.positions().first)
        #expect(p.status == "closed" && p.exitReason == "closed outside gobot")
        #expect(try h.db.order(clientOrderId: "gb-1-SL")?.status == "canceled")
    }

    @Test func aCommissionPaidInBNBIsBookedWithItsAssetAndItsUSDTValue() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        h.exchange.bnbPrice = 600
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)
        _ = try await Steps.reconcile(h.ctx)
        let p = try #require(try h.db.positions().first)
        // 0.0005 × (5 × 2.0 + 5 × 1.95) = 0.009875 USDT, charged as 0.009875 / 600 BNB.
        #expect(p.fees == Decimal(string: "0.009875")!)
        let commissions = try h.db.ledgerEntries().filter { $0.kind == "commission" }
        #expect(commissions.count == 2)
        #expect(commissions.allSatisfy { $0.asset == "BNB" })
        #expect(commissions.map(\.amountUSD).reduce(0, +) == Decimal(string: "-0.009875")!)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
    }

    /// Review finding R4: one income record gobot cannot value in USDT (no <ASSET>USDT price)
    /// must not keep every later realized P&L out of the ledger the loss limits read. It is
    /// reported, the others are booked, and the cursor waits at it so it is booked later.
    @Test func anIncomeRecordThatCannotBeValuedDoesNotBlockTheRest() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        h.exchange.incomeCommissionAsset = "XYZ"
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed)
        #expect(r.message.contains("XYZ"))
        let ledger = try h.db.ledgerEntries()
        #expect(ledger.contains { $0.kind == "realized_pnl" && $0.amountUSD < 0 })  // the stop-loss is in the loss limits
        #expect(!ledger.contains { $0.kind == "commission" })
        #expect(try h.db.ledgerTotals(fromMs: 0).realized < 0)
        // The cursor has not passed the record that waits: it is read again next run.
        let cursor = try #require(Int64(try h.db.value(forKey: "income_cursor_ms") ?? ""))
        #expect(cursor < TradingHarness.t0 + 2 * 60_000)
    }

    /// A fill whose fee gobot cannot value must not keep the closed position open in the
    /// database (its symbol and a position slot blocked): it closes with the fees it could value.
    @Test func aFillWhoseFeeCannotBeValuedStillClosesThePosition() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        h.exchange.tradeCommissionAsset = "XYZ"
        h.exchange.incomeCommissionAsset = "XYZ"
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("XRPUSDT: closed by stop-loss"))
        #expect(r.message.contains("(not valued: "))
        let p = try #require(try h.db.positions().first)
        #expect(p.status == "closed")
        #expect(p.realizedPnl == Decimal(string: "-0.25")!)
        #expect(p.fees == 0)
        #expect(try h.db.livePositions().isEmpty)
        #expect(try h.db.outbox().contains { $0.payload.contains("could not be valued in USDT") })
        // The ledger still waits to book the fee (R4), so reconcile still reports it.
        #expect(r.exit == .failed)
    }

    /// A fee the close could not value (no BNBUSDT price then) left the position's fees short
    /// for good, and every net figure read from the position (validate's, the dashboard's) too:
    /// once reconcile values it for the ledger, it adds it to the position's fees, once.
    @Test func aFeeValuedAfterTheCloseIsAddedToThePositionsFeesOnce() async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 0)
        // A BNBUSDT price exists now (1 USDT a BNB): the ledger books both fees, and the position's fees follow.
        try await Self.reconcileWithBNBPriced(h)
        // 0.0005 × (5 × 2.0 + 5 × 1.95) = 0.009875
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == Decimal(string: "0.009875")!)
        #expect(try h.db.positions().first?.netPnl == Decimal(string: "-0.259875")!)
        #expect(try h.db.value(forKey: UnvaluedFee.key(positionId: closed.id)) == nil)
        // Matched fees raise no "matches none" alert (review 12, L1).
        #expect(try Self.outbox(h, containing: "it may be that fee").isEmpty)
        h.at(minute: 40)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.positions().first?.fees == Decimal(string: "0.009875")!)
    }

    /// A position stopped out whose two fees, paid in BNB, the close could not value (no BNBUSDT
    /// price yet); the income history's commission records come `shiftMs` after their fills,
    /// rewritten by `rewrite`.
    static func closedWithBNBFeesUnvalued(shiftMs: Int64, rewrite: (@Sendable (inout IncomeRecord) -> Void)? = nil) async throws
        -> (TradingHarness, PositionRow) {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        h.exchange.tradeCommissionAsset = "BNB"
        h.exchange.incomeCommissionAsset = "BNB"
        h.exchange.incomeCommissionShiftMs = shiftMs
        h.exchange.incomeCommissionRewrite = rewrite
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)
        #expect(try await Steps.reconcile(h.ctx).message.contains("(not valued: "))
        let closed = try #require(try h.db.positions().first)
        #expect(closed.status == "closed" && closed.fees == 0)
        #expect(try h.db.unvaluedFees(positionId: closed.id).count == 2)
        return (h, closed)
    }

    /// A BNBUSDT price exists now (1 USDT a BNB): reconcile at minute 36 values the fees the
    /// close left out, and succeeds.
    static func reconcileWithBNBPriced(_ h: TradingHarness, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        h.exchange.bnbPrice = 1
        h.at(minute: 36)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok, sourceLocation: sourceLocation)
    }

    static func outbox(_ h: TradingHarness, containing text: String) throws -> [String] {
        try h.db.read { try String.fetchAll($0, sql: "SELECT payload FROM outbox WHERE payload LIKE ?", arguments: ["%\(text)%"]) }
    }

    /// A commission record a millisecond off its fill (Binance does not document that a
    /// COMMISSION record carries its fill's time) was booked in the ledger while the position's
    /// fees stayed short of it for good (review 10, L3): the record names its fill (`tradeId`),
    /// the waiting fee keeps its fill's id, and the fee is valued into the position's fees once.
    @Test func aFeeWhoseRecordIsAMillisecondOffItsFillIsMatchedByItsTradeId() async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 1)
        // Each waiting fee keeps the id of its fill, and the paper exchange's commission records name the same fills.
        let fills = try await h.exchange.inner.userTrades(symbol: "XRPUSDT", fromId: 0)
        #expect(fills.count == 2)
        #expect(try h.db.unvaluedFees(positionId: closed.id).map(\.tradeId) == fills.map(\.id))
        let commissions = try await h.exchange.income(startMs: TradingHarness.t0, endMs: h.clock.nowMs()).filter { $0.incomeType == "COMMISSION" }
        #expect(commissions.map(\.tradeId) == fills.map(\.id))
        #expect(zip(commissions, fills).allSatisfy { $0.timeMs == $1.timeMs + 1 })
        try await Self.reconcileWithBNBPriced(h)
        // 0.0005 × (5 × 2.0 + 5 × 1.95) = 0.009875, in the ledger and in the position's own fees.
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == Decimal(string: "0.009875")!)
        #expect(try h.db.value(forKey: UnvaluedFee.key(positionId: closed.id)) == nil)
        #expect(try Self.outbox(h, containing: "that fee").isEmpty)
        // Read again (the overlap brings the records back): nothing is booked or added twice.
        h.at(minute: 40)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == Decimal(string: "0.009875")!)
        #expect(try h.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM ledger WHERE kind = 'commission'") } == 2)
    }

    /// Without a trade id (an income record that carries none), a commission record that matches
    /// none of the fees a closed position left out (its time differs from the fill's) is booked in
    /// the ledger, and the position's fees staying short of it is said, not silent (review 10, L3).
    @Test func aFeeThatMatchesNoneTheCloseLeftOutIsSaid() async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 1) { $0.tradeId = nil }
        try await Self.reconcileWithBNBPriced(h)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == 0)
        let alerts = try Self.outbox(h, containing: "it may be that fee")
        #expect(alerts.count == 2, "\(alerts)")
        #expect(alerts.allSatisfy { $0.contains("position \(closed.id)") && $0.contains(UnvaluedFee.key(positionId: closed.id)) })
    }

    /// Without trade ids, a commission of another asset or another amount than the fees a closed
    /// position waits for is not a lookalike: it is booked, the fees keep waiting, and no "it may
    /// be that fee" alert is raised (review 12, the mixed-asset case; review 13, L4).
    @Test(arguments: ["asset", "amount"])
    func withoutTradeIdsACommissionOfAnotherAssetOrAmountRaisesNoAlert(_ differs: String) async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 1) { r in
            r.tradeId = nil
            if differs == "asset" { r.asset = "USDT" } else { r.income *= 3 }
        }
        try await Self.reconcileWithBNBPriced(h)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: differs == "asset" ? "-0.009875" : "-0.029625")!)
        #expect(try h.db.positions().first?.fees == 0)
        #expect(try h.db.unvaluedFees(positionId: closed.id).count == 2)
        #expect(try Self.outbox(h, containing: "that fee").isEmpty)
    }

    /// The alert about a waiting fee is queued in the transaction that books its record: one that
    /// cannot be queued rolls the booking back, and the next run books the record and says it.
    /// Queued after the commit with `try?`, it was lost for good: the ref was booked and never
    /// read again (review 12, L2).
    @Test func aFeeAlertThatCannotBeQueuedRollsItsBookingBack() async throws {
        let (h, _) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 1) { $0.tradeId = nil }
        h.exchange.bnbPrice = 1
        try h.db.write {
            try $0.execute(sql: """
                CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox WHEN NEW.payload LIKE '%that fee%'
                BEGIN SELECT RAISE(ABORT, 'injected: the alert could not be queued'); END
                """)
        }
        h.at(minute: 36)
        let first = try await Steps.reconcile(h.ctx)
        #expect(first.exit == .failed && first.message.contains("injected: the alert could not be queued"), "\(first.message)")
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == 0)
        try h.db.write { try $0.execute(sql: "DROP TRIGGER outbox_fails") }
        h.at(minute: 37)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try Self.outbox(h, containing: "it may be that fee").count == 2)
    }

    /// A commission of the asset and amount of a waiting fee, whose trade id names another fill,
    /// is not that fee: it is booked, the fee keeps waiting, and no "it may be that fee" alert
    /// sends the operator to correct the position's fees by hand (review 12, M1).
    @Test func aCommissionOfAnotherFillIsNotTakenForAWaitingFee() async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 1) { $0.tradeId = $0.tradeId.map { "9\($0)" } }
        try await Self.reconcileWithBNBPriced(h)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == 0)
        #expect(try h.db.unvaluedFees(positionId: closed.id).count == 2)
        #expect(try Self.outbox(h, containing: "that fee").isEmpty)
    }

    /// The record of a waiting fee's fill (its trade id) with another amount than the fill
    /// reported: it is that fee, valued at what the ledger booked, and the difference is said.
    @Test func aCommissionOfTheSameFillWithAnotherAmountIsSaidToBeThatFee() async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 0) { $0.income *= 2 }
        try await Self.reconcileWithBNBPriced(h)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.01975")!)
        #expect(try h.db.positions().first?.fees == Decimal(string: "0.01975")!)
        #expect(try h.db.value(forKey: UnvaluedFee.key(positionId: closed.id)) == nil)
        let alerts = try Self.outbox(h, containing: "it is that fee")
        #expect(alerts.count == 2, "\(alerts)")
        #expect(alerts.contains { $0.contains("as 0.01 BNB, its fill said 0.005 BNB") }, "\(alerts)")
        #expect(try Self.outbox(h, containing: "it may be that fee").isEmpty)
    }

    /// A record with a waiting fee's trade id that is not this position's commission leaves the
    /// fee waiting (it is booked as a cost all the same): a liquidation's INSURANCE_CLEAR, which may
    /// carry the fill's trade id (review 15, L1), and another symbol's commission with the same
    /// trade id and amount (Binance's trade ids are per symbol; the owner is found by symbol first).
    @Test(arguments: ["INSURANCE_CLEAR", "ETHUSDT"])
    func aRecordWithTheFillsTradeIdThatIsNotItsCommissionLeavesTheFeeWaiting(_ other: String) async throws {
        let (h, closed) = try await Self.closedWithBNBFeesUnvalued(shiftMs: 0) { r in
            if other == "ETHUSDT" { r.symbol = other } else { r.incomeType = other }
        }
        try await Self.reconcileWithBNBPriced(h)
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.009875")!)
        #expect(try h.db.positions().first?.fees == 0)
        #expect(try h.db.unvaluedFees(positionId: closed.id).count == 2)
        #expect(try Self.outbox(h, containing: "that fee").isEmpty)
    }

    /// `netPnl` read a closed row's missing realized P&L as 0: a money row never defaults.
    @Test func aClosedPositionWithoutItsRealizedPnlIsAnErrorNotAZero() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)
        _ = try await Steps.reconcile(h.ctx)
        let id = try #require(try h.db.positions().first { $0.status == "closed" }?.id)
        try h.db.write { try $0.execute(sql: "UPDATE positions SET realized_pnl = NULL WHERE id = ?", arguments: [id]) }
        let error = #expect(throws: GobotStore.RowDecodingError.self) { try h.db.positions() }
        #expect(error?.description.contains("positions.realized_pnl (closed position \(id)) holds no value") == true)
    }

    @Test func aPositionHeldTenDaysBooksItsPnLThroughSevenDayWindows() async throws {
        let day = 1440
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 9 * day) + Array(repeating: 1.95, count: day + 10), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 10 * day)
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .ok)
        #expect(r.message.contains("XRPUSDT: closed by stop-loss"))
        let p = try #require(try h.db.positions().first)
        #expect(p.realizedPnl == Decimal(string: "-0.25")!)
        #expect(h.exchange.windows.allSatisfy { $0.endMs - $0.startMs <= FaultyExchange.sevenDaysMs })
        #expect(try h.db.ledgerTotals(fromMs: 0).realized == Decimal(string: "-0.25")!)
    }

    @Test func noEntryOnASymbolWhereTheAccountHoldsAPositionGobotDidNotOpen() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        // The owner holds a short by hand: a gobot long would net with it in one-way mode.
        _ = try await h.exchange.inner.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 5, reduceOnly: false, clientOrderId: "web_by_hand"))
        try h.signal(.long)
        let r = try await Steps.trade(h.ctx)
        #expect(r.message.contains("XRPUSDT: rejected, the account already holds -5 that gobot did not open"))
        #expect(h.exchange.marketOrders == 0)
        #expect(try h.db.orders().isEmpty)
        #expect(try await h.exchange.positions().first?.positionAmt == -5)
    }

    @Test func aFlatListingWithoutAClosingFillNeitherClosesThePositionNorCancelsItsStop() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 10)
        h.exchange.flatPositionListings = 2  // both readings of this run answer flat; the position is live
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .tryLater)
        #expect(r.message.contains("the exchange lists no position but the fills found close 0 of 5"))
        // It used to be booked "closed outside gobot", and the orphan scan then cancelled its stop.
        #expect(try h.db.livePositions().count == 1)
        #expect(try await h.exchange.inner.openAlgoOrders(symbol: nil).map(\.orderType).sorted() == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        h.at(minute: 11)
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.livePositions().count == 1)
        // Listed flat for longer than any lag (a position netted with the owner's by hand): the
        // row closes after 15 minutes of flat listings, not never.
        h.exchange.flatPositionListings = 100
        h.at(minute: 12)
        #expect(try await Steps.reconcile(h.ctx).exit == .tryLater)
        h.at(minute: 26)
        #expect(try await Steps.reconcile(h.ctx).exit == .tryLater)
        #expect(try h.db.livePositions().count == 1)
        h.at(minute: 28)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.livePositions().isEmpty)
        #expect(try h.db.positions().first?.exitReason == "closed outside gobot")
    }

    @Test func aSiblingWhoseCancelFailsIsCancelledInTheSameRunEvenBehindALaggingListing() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)  // the stop filled; the take-profit is still open on the exchange
        h.exchange.laggingAlgoListings = 1  // the first listing does not show it yet
        h.exchange.algoCancelFailures = 1   // and the sibling cancel after the close fails once
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("XRPUSDT: closed by stop-loss"))
        #expect(r.message.contains("cancelled orphan TAKE_PROFIT_MARKET"))
        #expect(try await h.exchange.inner.openAlgoOrders(symbol: nil).isEmpty)
        #expect(try h.db.orders().first { $0.purpose == "take_profit" }?.status == "canceled")
    }

    @Test func fillsArePagedByTimeAndAWholePageInOneMillisecondIsReadOnByID() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        func fill(_ id: Int, _ ms: Int64) -> UserTrade {
            UserTrade(id: String(id), symbol: "XRPUSDT", orderId: "9", side: .buy, price: 2, qty: 1, realizedPnl: 0,
                      commission: Decimal(string: "0.001")!, commissionAsset: "USDT", timeMs: ms)
        }
        let t = TradingHarness.t0
        h.exchange.tradesPageLimit = 1000
        // 2,500 fills over 2,500 ms: three full pages and the rest, every fill exactly once.
        h.exchange.extraTrades = (0..<2500).map { fill(100 + $0, t + Int64($0)) }
        var all = try await Steps.userTrades(h.ctx, ex: h.exchange, symbol: "XRPUSDT", fromLocalMs: t)
        #expect(all.count == 2500 && Set(all.map(\.id)).count == 2500)
        // 2,100 fills in one millisecond, then 5 later ones: paging by time cannot pass that
        // millisecond (it used to skip the rest of it without a word); by id it reads all of them.
        h.exchange.extraTrades = (0..<2100).map { fill(100 + $0, t + 5) } + (0..<5).map { fill(5000 + $0, t + 9) }
        all = try await Steps.userTrades(h.ctx, ex: h.exchange, symbol: "XRPUSDT", fromLocalMs: t)
        #expect(all.count == 2105 && Set(all.map(\.id)).count == 2105)
        // Fills of one millisecond come back in id order, as numbers ("999" before "1000").
        #expect(all.filter { $0.timeMs == t + 5 }.map { Int64($0.id)! } == Array(100..<2200))
        // An endpoint that ignores the times cannot be paged by them: the look-up fails at once
        // instead of crawling through the window a millisecond at a time.
        h.exchange.tradesIgnoreTimes = true
        h.exchange.extraTrades = (0..<1000).map { fill(100 + $0, t - 3 * 86_400_000) }
        await #expect(throws: StepError.self) {
            _ = try await Steps.userTrades(h.ctx, ex: h.exchange, symbol: "XRPUSDT", fromLocalMs: t)
        }
        h.exchange.tradesIgnoreTimes = false
        // Ids that are not numbers cannot be paged by id: the look-up fails, it never returns part.
        h.exchange.extraTrades = (0..<1001).map { fill($0, t + 5) }.map { var f = $0; f.id = "x\(f.id)"; return f }
        await #expect(throws: StepError.self) {
            _ = try await Steps.userTrades(h.ctx, ex: h.exchange, symbol: "XRPUSDT", fromLocalMs: t)
        }
    }

    /// Not a time gobot writes: "0" would walk 7-day windows from 1970 (thousands of income requests
    /// in one run, rule 6), `Int64.min` would trap the lag's subtraction (review 13, L3). Trade's
    /// staleness check reads the same cursor and refuses the entry with the same error.
    @Test(arguments: ["0", "-1", "+\(TradingHarness.t0)", "\(Int64.min)", "0\(TradingHarness.t0)"])
    func anIncomeCursorThatIsNotATimeGobotWritesFailsReconcileAndTrade(_ stored: String) async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20), slippageBps: 0)
        try h.db.setValue(stored, forKey: "income_cursor_ms", atMs: TradingHarness.t0)
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.exit == .failed && r.message.contains("kv.value (key income_cursor_ms) holds '\(stored)'"))
        #expect(try h.db.value(forKey: "income_cursor_ms") == stored)
        #expect(try h.db.ledgerRowCount() == 0)
        try h.signal()
        await #expect(throws: GobotStore.RowDecodingError.self) { _ = try await Steps.trade(h.ctx) }
        #expect(try h.db.livePositions().isEmpty)
    }

    @Test func anIncomeCursorThatDoesNotReadFailsAndOneAheadOfNowSkipsNothing() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20), slippageBps: 0)
        try h.db.setValue("soon", forKey: "income_cursor_ms", atMs: TradingHarness.t0)
        let r = try await Steps.reconcile(h.ctx)
        // Text restarted 7 days back without a word.
        #expect(r.exit == .failed && r.message.contains("income_cursor_ms"))
        #expect(try h.db.value(forKey: "income_cursor_ms") == "soon")
        // A cursor a day ahead (a host clock set back, a damaged value) used to book nothing until
        // now caught up, and the loss limits read a ledger without the new P&L. (Set after the
        // entry: trade enters nothing on such a cursor, `ledger_stale`.)
        try h.db.deleteValue(forKey: "income_cursor_ms")
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.livePositions().count == 1)
        try h.db.setValue(String(TradingHarness.t0 + 86_400_000), forKey: "income_cursor_ms", atMs: TradingHarness.t0)
        h.at(minute: 35)  // the stop filled
        #expect(try await Steps.reconcile(h.ctx).exit == .ok)
        #expect(try h.db.ledgerTotals(fromMs: 0).realized == Decimal(string: "-0.25")!)
        #expect(try #require(Int64(try h.db.value(forKey: "income_cursor_ms") ?? "")) <= h.clock.nowMs())
    }

    @Test func theIncomeCursorAdvancesThroughEmptyWindows() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        _ = try await Steps.reconcile(h.ctx)  // no income at all
        let cursor = try #require(Int64(try h.db.value(forKey: "income_cursor_ms") ?? ""))
        #expect(cursor > TradingHarness.t0 - 7 * TradingCalendar.dayMs)
    }

    @Test func fundingIsSummedInDecimalNotThroughSQLiteReal() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        let id = try #require(try h.db.livePositions().first?.id)
        try h.db.addFunding(positionId: id, amount: Decimal(string: "12345678.12345678")!)
        try h.db.addFunding(positionId: id, amount: Decimal(string: "0.00000001")!)
        #expect(try h.db.position(id: id)?.funding == Decimal(string: "12345678.12345679")!)
    }

    @Test func aStopWhoseIntentRowCannotBeWrittenIsPlacedAnywayAndAlerted() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        // The disk fills up right after the entry: writing the stop's intent fails.
        try h.db.write { db in
            try db.execute(sql: """
                CREATE TRIGGER disk_full BEFORE INSERT ON orders WHEN NEW.purpose = 'stop'
                BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
                """)
        }
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("stop 1.96"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(try h.db.outbox().contains { $0.payload.contains("could not record the stop order gb-1-SL") })
        // Space comes back: reconcile records the stop it finds instead of placing another.
        try h.db.write { db in try db.execute(sql: "DROP TRIGGER disk_full") }
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("recorded STOP_MARKET gb-1-SL found on the exchange"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
    }

    @Test func aFillTheDatabaseCannotRecordIsStillProtected() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        // The disk fills up while the entry is in flight: no row can change after it.
        try h.db.write { db in
            try db.execute(sql: """
                CREATE TRIGGER disk_full_orders BEFORE UPDATE ON orders BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
                CREATE TRIGGER disk_full_positions BEFORE UPDATE ON positions BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
                CREATE TRIGGER disk_full_intents BEFORE INSERT ON orders WHEN NEW.purpose != 'entry' BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
                """)
        }
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("stop 1.96, target 2.08"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(try await h.exchangeState().amt == 5)
        try h.db.write { db in
            try db.execute(sql: "DROP TRIGGER disk_full_orders; DROP TRIGGER disk_full_positions; DROP TRIGGER disk_full_intents")
        }
        // Space is back: reconcile records what happened without placing anything twice.
        h.at(minute: 3)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.livePositions().map(\.status) == ["open"])
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(h.exchange.marketOrders == 1)
    }

    @Test func aTakeProfitAlreadyBeyondItsPriceClosesAtMarket() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .targetBeyond
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("target already reached; closed at market"))
        let state = try await h.exchangeState()
        #expect(state.amt == 0 && state.algos.isEmpty)  // closed, and the stop cancelled after the close
        #expect(try h.db.orders().map(\.purpose) == ["entry", "stop", "take_profit", "close"])
    }

    /// Review finding R1: a close at market that filled is not proof the position is flat (the
    /// size it closed may be gobot's record, not the exchange's). Its stop stays until the
    /// exchange shows the symbol flat.
    @Test func aCloseThatLeavesPartOfThePositionKeepsTheStop() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .targetBeyond
        h.exchange.addedByHandAfterEntry = 3      // the exchange holds 8, gobot recorded 5
        h.exchange.positionsFailuresAfterEntry = 1  // the live size cannot be read before the close
        let report = try await Steps.trade(h.ctx)
        let state = try await h.exchangeState()
        #expect(state.amt == 3)
        #expect(state.algos.contains("STOP_MARKET"))  // what is left is still protected
        #expect(report.exit == .tryLater)             // not "closed": reconcile follows it
        #expect(report.message.contains("protective orders kept"))
    }

    /// Review finding R2: the client signs an order again after -1021 (a stale offset synced,
    /// the first send answered -1021, a forced resync): the last signature may come three request
    /// timeouts after the intent row, and Binance executes it until that + recvWindow.
    @Test func anOrderResignedAfterAClockResyncIsNotDeclaredNeverSentTooEarly() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .entryLostUnsent
        let intentAt = h.clock.nowMs()
        _ = try await Steps.trade(h.ctx)
        let e = h.ctx.config.exchange
        let timeoutMs = Int64(e.requestTimeoutSeconds * 1000)
        // Signed at the latest three timeouts after the row; Binance may still execute it here.
        h.clock.set(intentAt + 3 * timeoutMs + Int64(e.recvWindowMs))
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("may still be in flight"))
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "unknown")
        #expect(try h.db.positions().map(\.status) == ["opening"])
    }

    /// Review finding R3: a MARKET entry still working with part of it filled is a position:
    /// it gets its closePosition stop at once, not at the next reconcile.
    @Test func aPartlyFilledEntryThatIsNotFinalIsProtectedAtOnce() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .entryPartlyFilled
        _ = try await Steps.trade(h.ctx)
        let state = try await h.exchangeState()
        #expect(state.amt > 0)
        #expect(state.algos.contains("STOP_MARKET"))
        #expect(try h.db.livePositions().map(\.status) == ["open"])
        #expect(h.exchange.marketOrders == 1)
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "open")
        // Still partly filled: reconcile looks it up and leaves it (no audit noise while unchanged).
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "open")
        let recoveries = try h.db.auditEntries().filter { $0.action == "recovery" }.count
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.auditEntries().filter { $0.action == "recovery" }.count == recoveries)
        // The exchange finishes the order: the next reconcile records the fill, once.
        var done = try #require(h.exchange.partlyFilled["gb-1-E"])
        done.status = "FILLED"
        done.executedQty = 5
        h.exchange.partlyFilled["gb-1-E"] = done
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("XRPUSDT: entry gb-1-E found FILLED"))
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "filled")
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.executedQty == 5)
        #expect(h.exchange.marketOrders == 1)
    }

    @Test func aStopAnsweredAlreadyExpiredCountsAsRefusedAndThePositionIsClosed() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .stopAnsweredExpired
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("stop rejected"))
        #expect(report.message.contains("status EXPIRED"))
        #expect(try await h.exchangeState().amt == 0)
        #expect(try h.db.order(clientOrderId: "gb-1-SL")?.status == "rejected")
        #expect(try h.db.outbox().contains { $0.payload.contains("stop-loss rejected") })
    }

    @Test func anEntryHeldBackBeforeSendingIsRefusedWithoutAnUnknownAlarm() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        h.exchange.fault = .entryHeldBackByTheBreaker
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("XRPUSDT: entry rejected, exchange circuit breaker open"))
        #expect(try h.db.order(clientOrderId: "gb-1-E")?.status == "rejected")
        #expect(try h.db.livePositions().isEmpty)
        #expect(!(try h.db.outbox().contains { $0.payload.contains("outcome unknown") }))
        #expect(try await h.exchangeState().amt == 0)
    }

    @Test func anOwnersStaleStopDoesNotStandInForGobotsStop() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        // The owner's own stop far below; gobot's stop is lost.
        _ = try await h.exchange.placeProtectiveOrder(ProtectiveOrderRequest(symbol: "XRPUSDT", side: .sell, kind: .stopMarket,
                                                                            triggerPrice: Decimal(string: "1.5")!, clientAlgoId: "mine-1"))
        try await h.exchange.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("repaired protection (stop 1.96)"))
        let open = try await h.exchange.openAlgoOrders(symbol: "XRPUSDT").map(\.clientAlgoId)
        #expect(open.contains("gb-1-SL-2") && open.contains("mine-1"))
    }

    @Test func repairingAMissingStopUsesThePricesStoredAtEntry() async throws {
        var h = try TradingHarness(prices: Array(repeating: 2.0, count: 30), slippageBps: 0)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.ctx.config.trading.stopLossPercent = 5  // changed after the entry
        try await h.exchange.cancelAlgoOrder(clientAlgoId: "gb-1-SL")
        let r = try await Steps.reconcile(h.ctx)
        #expect(r.message.contains("repaired protection (stop 1.96)"))
        #expect(try h.db.order(clientOrderId: "gb-1-SL-2")?.triggerPrice == Decimal(string: "1.96")!)
    }

    @Test func haltSetsTheFlagWhileAnotherStepHoldsTheAccountLock() async throws {
        let dir = TempDir()
        try DefaultConfig.yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        let runner = StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir.file("state"),
                                environment: [:], clock: ManualClock(ms: 1_700_000_000_000))
        let paths = StepPaths(stateDir: dir.file("state"))
        try paths.createDirectories()
        let held = try FileLock.acquire(path: paths.lock("account"))  // trade or reconcile is running
        defer { held.release() }
        let result = await runner.run(.halt) { try await Steps.halt($0, reason: "drill", flatten: false, actor: "test") }
        #expect(result.exit == .ok)
        #expect(try GobotDatabase.open(path: paths.database).haltState().halted)
        // Flattening moves money: it waits for the account lock.
        let flatten = await runner.run(.flatten) { try await Steps.halt($0, reason: "drill", flatten: true, actor: "test") }
        #expect(flatten.exit == .tryLater)
    }
}
