import Foundation
import GobotCore
import GobotStore
import Testing
@testable import GobotSteps

/// Analyze asks the analyst only when its answer can lead to a trade.
@Suite struct AnalystSkipTests {
    @Test func skippingQuestionsThatCannotMatterChangesNoTradeAndSavesMostRequests() async throws {
        let options = Backtest.Options(dataDir: BacktestTests.sample, fromMs: BacktestTests.start, toMs: BacktestTests.start + 2 * BacktestTests.day,
                                       exchangeInfoPath: "\(BacktestTests.sample)/exchangeInfo.json")
        var asking = GobotConfig()
        asking.analyst.askWhenBlocked = true
        let all = try await Backtest.run(config: asking, options: options)
        let lean = try await Backtest.run(config: GobotConfig(), options: options)
        func key(_ p: PositionRow) -> String { "\(p.openedAtMs) \(p.symbol) \(p.side) \(p.quantity) \(p.entryPrice) \(p.exitPrice.map { "\($0)" } ?? "-") \(p.netPnl)" }
        #expect(!all.positions.isEmpty)
        #expect(all.positions.map(key) == lean.positions.map(key))
        #expect(all.totals.net == lean.totals.net)
        // BTCUSDT and ETHUSDT cannot be bought under the 10 USD cap, and one slot is often taken.
        #expect(lean.signals.count * 2 < all.signals.count, "asked \(lean.signals.count) of \(all.signals.count)")
        #expect(!lean.signals.contains { $0.symbol == "BTCUSDT" || $0.symbol == "ETHUSDT" })
    }

    @Test func eachReasonIsNamedAndCountedForStatus() async throws {
        var h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        h.at(minute: 10)
        let rule = TradingHarness.xrp
        #expect(try AnalystSkips.reason(h.ctx, symbol: "XRPUSDT", lastClose: 2, rules: rule) == nil)
        var tiny = rule
        tiny.minNotional = 50
        #expect(try AnalystSkips.reason(h.ctx, symbol: "XRPUSDT", lastClose: 2, rules: tiny) == "below_min_notional")
        h.ctx.config.trading.maxTradesPerDay = 0
        #expect(try AnalystSkips.reason(h.ctx, symbol: "XRPUSDT", lastClose: 2, rules: rule) == "max_trades_per_day")
        h.ctx.config.risk.maxOpenPositions = 0
        #expect(try AnalystSkips.reason(h.ctx, symbol: "XRPUSDT", lastClose: 2, rules: rule) == "max_open_positions")
        try h.db.addCandidate(symbol: "XRPUSDT", atMs: h.clock.nowMs(), lastClose: 2, score: 1)
        let report = try await Steps.analyze(h.ctx)
        #expect(report.message.contains("XRPUSDT skipped (max_open_positions)"))
        #expect(try h.db.signals().isEmpty)
        let status = try Steps.status(h.ctx, json: false).message
        #expect(status.contains("analyst today: 0 requests") && status.contains("max_open_positions 1"))
    }

    /// An answer with no direction has nothing for the gate to decide: analyze stores it with
    /// trade's own rejection, and trade (a read and a write on every cron run) never sees it.
    @Test func anAnswerWithNoDirectionIsStoredDecidedAndTradeNeverSeesIt() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        h.at(minute: 10)
        try h.db.addCandidate(symbol: "XRPUSDT", atMs: h.clock.nowMs(), lastClose: 2, score: 1)
        // The rules analyst on no stored candles: "not enough candles", no direction.
        let report = try await Steps.analyze(h.ctx)
        #expect(report.message.contains("XRPUSDT none"), "\(report.message)")
        let stored = try h.db.signals()
        #expect(stored.count == 1 && stored[0].signal.direction == .none)
        #expect(stored.first?.status == "rejected" && stored.first?.decision == "no_direction: analyst saw no trade", "\(stored)")
        let trade = try await Steps.trade(h.ctx)
        #expect(trade.outcome == "nothing_to_do" && trade.message == "trade: no fresh signals", "\(trade.message)")
        // A signal with a direction is still trade's to decide, whatever decision a caller passes.
        try h.db.storeSignal(candidateId: nil, symbol: "XRPUSDT", atMs: h.clock.nowMs(), signal: Signal(direction: .short, confidence: 0.5, rationale: "t", model: "t"),
                             referencePrice: 2, chartHashes: [], noDirectionDecision: Steps.noDirectionDecision)
        #expect(try h.db.signals().last?.status == "fresh")
        _ = try await Steps.trade(h.ctx)
        try h.signal(.long, confidence: 0.5)
        #expect(try h.db.signals().last?.status == "fresh")
        _ = try await Steps.trade(h.ctx)
        #expect(try h.db.signals().last?.decision?.hasPrefix("low_confidence") == true)
    }
}
