import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

@Suite struct TradeAndReconcileTests {
    @Test func anApprovedSignalOpensAPositionWithStopAndTarget() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("XRPUSDT: long 5 @ 2"))
        let state = try await h.exchangeState()
        #expect(state.amt == 5)
        #expect(state.algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        let orders = try h.db.orders()
        #expect(orders.map(\.clientOrderId) == ["gb-1-E", "gb-1-SL", "gb-1-TP"])
        #expect(orders.map(\.status) == ["filled", "open", "open"])
        // The entry fills at 2 plus 2 bps of slippage (2.0004); stop and target are 2 % and 4 % from that fill, on the tick grid.
        #expect(orders[1].triggerPrice == Decimal(string: "1.9604")! && orders[2].triggerPrice == Decimal(string: "2.0805")!)
        // Reconcile only books the entry commission; run again, it changes nothing.
        #expect(try await Steps.reconcile(h.ctx).message == "reconcile: booked 1 ledger entries")
        #expect(try await Steps.reconcile(h.ctx).message == "reconcile: in agreement with the exchange")
        #expect(try h.db.ledgerTotals(fromMs: 0).commission == Decimal(string: "-0.005001")!)
    }

    /// The paper exchange's own rows fail loudly too: a position size that does not read is an
    /// error naming the column, never a flat position (which would put no stop behind a real one).
    @Test func aPaperExchangeRowThatDoesNotReadFailsLoudly() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        try h.db.write { db in try db.execute(sql: "UPDATE paper_positions SET amt = 'five'") }
        await #expect(throws: RowDecodingError(table: "paper_positions", column: "amt", value: "five")) { _ = try await h.exchange.positions() }
        try h.db.write { db in try db.execute(sql: "UPDATE paper_algo SET side = 'SIDEWAYS'") }
        await #expect(throws: RowDecodingError(table: "paper_algo", column: "side", value: "SIDEWAYS")) { _ = try await h.exchange.openAlgoOrders(symbol: nil) }
    }

    /// A recording with a price that is not a number fails the order, never fills it at 0.
    @Test func aPaperPriceThatIsNotANumberIsAnErrorNotAFillAtZero() async throws {
        let h = try TradingHarness(prices: Array(repeating: Double.nan, count: 30))
        do {
            _ = try await h.exchange.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .buy, quantity: 5, reduceOnly: false, clientOrderId: "gb-9-E"))
            Issue.record("an order was filled at a price that is not a number")
        } catch let error as ExchangeError {
            // Not a refusal for notional (-4164), which a price read as 0 would give.
            guard case .badResponse(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("nan"))
        }
        #expect(try await h.exchangeState().amt == 0)
    }

    @Test func killedAfterIntentLeavesNoOrderAndReconcileClosesTheIntent() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        let id = try h.signal()
        let plan = try RiskGate.evaluate(symbol: "XRPUSDT", signal: Signal(direction: .long, confidence: 0.8, rationale: "", model: ""),
                                         price: 2, rules: TradingHarness.xrp, state: RiskState(nowMs: h.clock.nowMs()),
                                         config: h.ctx.config, closedTrades: 0, wins: 0).get()
        _ = try h.db.recordEntryIntent(EntryIntent(plan: plan, signalId: id, entryClientId: "gb-\(id)-E"), atMs: h.clock.nowMs())
        // The process died here, before sending. Reconcile looks the id up and finds nothing; it
        // declares the entry never sent only once the request could no longer arrive.
        let early = try await Steps.reconcile(h.ctx)
        #expect(early.message.contains("may still be in flight"))
        #expect(try h.db.positions().map(\.status) == ["opening"])
        h.at(minute: 3)
        let report = try await Steps.reconcile(h.ctx)
        #expect(report.message.contains("entry gb-1-E never reached the exchange"))
        #expect(try h.db.positions().map(\.status) == ["failed"])
        #expect(try await h.exchangeState().amt == 0)
        #expect(h.exchange.marketOrders == 0)
    }

    @Test(arguments: [FaultyExchange.Fault.crashAfterEntry, .timeoutAfterEntry, .crashAfterStop])
    func afterAnInterruptionReconcileLeavesExactlyOneProtectedPosition(fault: FaultyExchange.Fault) async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        h.exchange.fault = fault
        _ = try? await Steps.trade(h.ctx)  // a crash escapes; a timeout is recorded as unknown
        h.at(minute: 2)
        _ = try await Steps.reconcile(h.ctx)
        let state = try await h.exchangeState()
        #expect(state.amt == 5)
        #expect(state.algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(h.exchange.marketOrders == 1)  // never sent twice
        #expect(try h.db.livePositions().map(\.status) == ["open"])
        #expect(try h.db.orders(statuses: ["intent", "unknown"]).isEmpty)
        // A second trade run does not enter again and a second reconcile changes nothing.
        _ = try await Steps.trade(h.ctx)
        #expect(h.exchange.marketOrders == 1)
        #expect(try await Steps.reconcile(h.ctx).message == "reconcile: in agreement with the exchange")
    }

    @Test func stopFilledWhileGobotWasDownIsBookedAndTheSiblingCancelled() async throws {
        // Flat at 2.0, then the price falls through the 1.96 stop at minute 20.
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 20) + Array(repeating: 1.95, count: 20))
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 35)  // no step ran between
        let report = try await Steps.reconcile(h.ctx)
        #expect(report.message.contains("XRPUSDT: closed by stop-loss"))
        let p = try #require(try h.db.positions().first)
        #expect(p.status == "closed" && p.exitReason == "stop-loss")
        // The candle opened at 1.95, below the trigger: a gap fills at the open, as it would, less
        // 2 bps of slippage on the tick grid (1.9496); the entry paid 2 bps too (2.0004).
        #expect(p.exitPrice == Decimal(string: "1.9496")!)
        #expect(p.realizedPnl == Decimal(string: "-0.254")!)
        #expect(try await h.exchangeState().algos.isEmpty)  // take-profit sibling cancelled
        let totals = try h.db.ledgerTotals(fromMs: 0)
        #expect(totals.realized == Decimal(string: "-0.254")!)
        #expect(totals.commission < 0)
        #expect(try await Steps.reconcile(h.ctx).message == "reconcile: in agreement with the exchange")
    }

    @Test func aMissingStopIsReplacedAndAnOrphanCancelled() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        try await h.exchange.cancelAlgoOrder(clientAlgoId: "gb-1-SL")  // someone removed the stop by hand
        let report = try await Steps.reconcile(h.ctx)
        #expect(report.message.contains("repaired protection (stop 1.9604)"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET", "TAKE_PROFIT_MARKET"])
        #expect(try h.db.order(clientOrderId: "gb-1-SL-2")?.status == "open")
        #expect(try h.db.outbox().contains { $0.kind == "error" && $0.payload.contains("stop-loss was missing") })
    }

    @Test func fundingIsBookedToThePosition() async throws {
        // Entry at 07:58, funding event at 08:00 with rate 0.0001: a long pays 5 × 2.0 × 0.0001.
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 490), funding: [TradingHarness.t0 + 28_800_000: 0.0001])
        h.at(minute: 478)
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 485)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.ledgerTotals(fromMs: 0).funding == Decimal(string: "-0.001")!)
        #expect(try h.db.livePositions().first?.funding == Decimal(string: "-0.001")!)
    }

    @Test func autoExecuteOffRecordsTheDecisionOnly() async throws {
        var h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        h.ctx.config.execution.autoExecute = false
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().first?.status == "recorded")
        #expect(h.exchange.marketOrders == 0)
    }

    @Test func rejectionsAreStoredWithTheirReason() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal(confidence: 0.5)
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().first?.decision == "low_confidence: confidence 0.5 is below the threshold 0.75")
    }
}

extension TradeAndReconcileTests {
    @Test func haltWithFlattenCancelsProtectionClosesThePositionAndHalts() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        h.at(minute: 3)
        let report = try await Steps.halt(h.ctx, reason: "drill", flatten: true, actor: "test")
        #expect(report.message.contains("cancelled 2 protective orders, closed 1 positions"))
        let state = try await h.exchangeState()
        #expect(state.amt == 0 && state.algos.isEmpty)
        #expect(try h.db.haltState().halted)
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.positions().first?.exitReason == "closed by gobot")
        #expect(try h.db.verifyAudit() == .valid(entries: try h.db.auditEntries().count))
    }
}

extension TradeAndReconcileTests {
    @Test func aRefusedStopClosesThePositionAtMarketAndAlerts() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        h.exchange.fault = .rejectStop
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("stop rejected"))
        #expect(report.message.contains("closed at market"))
        #expect(try await h.exchangeState().amt == 0)  // never left unprotected
        #expect(try await h.exchangeState().algos.isEmpty)
        #expect(try h.db.outbox().contains { $0.kind == "error" && $0.payload.contains("stop-loss rejected") })
        #expect(try h.db.orders().map(\.purpose) == ["entry", "stop", "close"])
        _ = try await Steps.reconcile(h.ctx)
        #expect(try h.db.positions().first?.exitReason == "closed by gobot")
    }
}

extension TradeAndReconcileTests {
    @Test func aPositionGobotDidNotOpenGetsARecordedStopAndFlattenClosesIt() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        // Someone opened a position by hand on the same account.
        _ = try await h.exchange.inner.placeMarketOrder(MarketOrderRequest(symbol: "XRPUSDT", side: .sell, quantity: 5, reduceOnly: false,
                                                                           clientOrderId: "manual-1"))
        let report = try await Steps.reconcile(h.ctx)
        // The short filled at 2 less slippage (1.9996); the stop is 2 % above that.
        #expect(report.message.contains("XRPUSDT: placed a stop at 2.0395 on an unmanaged position"))
        let stop = try #require(try h.db.orders().first { $0.purpose == "stop" })
        #expect(stop.positionId == nil && stop.status == "open" && stop.clientOrderId.hasPrefix("gb-adopt-XRPUSDT-"))
        #expect(try await h.exchangeState().algos == ["STOP_MARKET"])
        #expect(try h.db.outbox().contains { $0.kind == "risk" && $0.payload.contains("did not open") })

        let halted = try await Steps.halt(h.ctx, reason: "drill", flatten: true, actor: "test")
        #expect(halted.message.contains("cancelled 1 protective orders, closed 1 positions"))
        #expect(try await h.exchangeState().amt == 0)
        let close = try #require(try h.db.orders().first { $0.purpose == "close" })
        #expect(close.status == "filled" && close.clientOrderId.hasPrefix("gb-flat-XRPUSDT-"))
    }
}
