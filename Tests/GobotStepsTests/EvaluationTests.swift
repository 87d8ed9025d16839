import Foundation
@testable import GobotCore
import Testing
@testable import GobotSteps

/// `gobot evaluate` on the bundled week of real candles.
@Suite struct EvaluationTests {
    static let sample = BacktestTests.sample

    static func market(_ tweak: (inout GobotConfig) -> Void = { _ in }) throws -> Evaluation.Market {
        var c = GobotConfig()
        tweak(&c)
        return try Evaluation.load(config: c, options: Evaluation.Options(dataDir: sample, exchangeInfoPath: "\(sample)/exchangeInfo.json"))
    }

    /// An analyst that looks at the candles after the decision: long when a long would reach its
    /// target before its stop, short when a short would, otherwise no call.
    static func peeking(_ m: Evaluation.Market) -> (String, Int64, Signal) -> Signal {
        { symbol, now, _ in
            guard let candles = m.series[symbol], let rule = m.rules[symbol],
                  let c = candles.first(where: { $0.openTimeMs >= now }) else { return Signal(direction: .none, confidence: 0, rationale: "", model: "peek") }
            let e = EdgeEvaluation.Entry(symbol: symbol, side: .long, openedAtMs: now, entryPrice: Decimal(price: c.open)!, quantity: 1)
            for side in [PositionSide.long, .short] {
                let o = EdgeEvaluation.replay(e, side: side, candles: candles, funding: [:], rule: rule, config: m.config)
                if o.exitReason == "take-profit" { return Signal(direction: side == .long ? .long : .short, confidence: 0.9, rationale: "", model: "peek") }
            }
            return Signal(direction: .none, confidence: 0, rationale: "", model: "peek")
        }
    }

    static func coinFlip(seed: UInt64) -> (String, Int64, Signal) -> Signal {
        var rng = SeededRandom(seed: seed)
        return { _, _, _ in Signal(direction: Bool.random(using: &rng) ? .long : .short, confidence: 0.9, rationale: "", model: "coin") }
    }

    @Test func replayingTheEnginesOwnSidesGivesTheEnginesClosedTrades() throws {
        let m = try Self.market()
        let out = Evaluation.run(market: m, edge: EdgeEvaluation.Options(seeds: 50, folds: 2))
        let closed = out.engine.trades.filter { $0.closedAtMs != nil }
        #expect(!closed.isEmpty)
        for (t, o) in zip(out.engine.trades, out.report.outcomes) where t.closedAtMs != nil {
            #expect(o.exitPrice == t.exitPrice)
            #expect(o.exitReason == t.exitReason)
            #expect(o.realized == t.realizedPnl)
            #expect(o.fees == t.fees)
            #expect(o.funding == t.funding)
            // The engine books the exit at the next cycle; the replay at the trigger minute.
            #expect(o.closedAtMs! <= t.closedAtMs! && t.closedAtMs! - o.closedAtMs! <= 360_000)
        }
        #expect(out.report.whole.trades == out.engine.trades.count)
        #expect(out.report.folds.count == 2)
        #expect(out.report.folds.map(\.trades).reduce(0, +) == out.report.whole.trades)
        #expect(out.report.symbols.map(\.trades).reduce(0, +) == out.report.whole.trades)
        // Every block carries its sample size, interval, fees and funding, break-even and baseline.
        for needle in ["95 % Wilson", "break-even", "fees", "funding", "bootstrap 95 %", "random sides", "always long", "marked to market",
                       "shuffled trade orders", "folds:", "edge: "] {
            #expect(out.text.contains(needle), "missing \(needle)")
        }
        let html = EvaluationReport.html(out.report, text: out.text)
        #expect(html.contains("<svg") && html.contains("<polygon") && html.contains(out.report.whole.verdict))
    }

    @Test func theBaselineHasPowerAPeekingAnalystIsSignificantACoinFlipIsNot() throws {
        // Tighter stops and looser limits than the defaults (which allow a few trades a week), so
        // the test has enough entries to have power; no loss breaker, so a losing coin keeps trading.
        let m = try Self.market {
            $0.trading.stopLossPercent = Decimal(string: "0.5")!
            $0.trading.takeProfitPercent = 1
            $0.trading.maxTradesPerDay = 20
            $0.trading.symbolCooldownMinutes = 30
            $0.risk.maxOpenPositions = 2
            $0.risk.dailyExposureLimitUSD = 400
            $0.risk.maxConsecutiveLosses = 100
        }
        let edge = EdgeEvaluation.Options(seeds: 200, folds: 2)
        let peek = Evaluation.run(market: m, edge: edge, signals: Self.peeking(m))
        #expect(peek.report.whole.trades >= 20)
        #expect(peek.report.whole.p < 0.01)
        #expect(peek.report.whole.verdict.hasPrefix("edge: positive at 95 %"))

        var significant = 0, trades = 0
        let analystSeeds: [UInt64] = Array(1...12)
        for s in analystSeeds {
            let coin = Evaluation.run(market: m, edge: edge, signals: Self.coinFlip(seed: s))
            trades += coin.report.whole.trades
            if coin.report.whole.verdict.hasPrefix("edge: positive") { significant += 1 }
        }
        #expect(trades >= 12 * 10)
        // Expected about 5 % of seeds; allow two of twelve.
        #expect(significant <= 2, "coin flip significant in \(significant) of \(analystSeeds.count) seeds")
    }

    @Test func theRandomSideGetsItsOwnSlippageAdjustedEntry() throws {
        let m = try Self.market()
        let out = Evaluation.run(market: m, edge: EdgeEvaluation.Options(seeds: 20, folds: 1))
        let e = try #require(out.engine.trades.first)
        let candles = m.series[e.symbol]!, rule = m.rules[e.symbol]!
        let market = Decimal(price: candles.first { $0.openTimeMs >= e.openedAtMs }!.open)!
        let own = EdgeEvaluation.replay(EdgeEvaluation.Entry(e), side: e.side, candles: candles, funding: [:], rule: rule, config: m.config)
        let other = EdgeEvaluation.replay(EdgeEvaluation.Entry(e), side: e.side == .long ? .short : .long, candles: candles, funding: [:], rule: rule, config: m.config)
        // The analyst's own side keeps the engine's fill; it paid slippage against itself.
        #expect(own.entryPrice == e.entryPrice)
        #expect(e.side == .long ? e.entryPrice > market : e.entryPrice < market)
        // The other side pays its own slippage from the same market price, the other way.
        let expected = FillRules.slipped(market, side: e.side == .long ? .sell : .buy, bps: m.config.exchange.slippageBps, tickSize: rule.tickSize)
        #expect(other.entryPrice == expected)
        #expect(e.side == .long ? other.entryPrice < market : other.entryPrice > market)
        // Its fees are charged on its own entry.
        let fee = (other.entryPrice * e.quantity * m.config.exchange.takerFeeRate).rounded(scale: 8)
            + (other.exitPrice * e.quantity * m.config.exchange.takerFeeRate).rounded(scale: 8)
        #expect(other.fees == fee)
        // Without slippage both sides enter at the market price.
        var flat = m.config
        flat.exchange.slippageBps = 0
        let noSlip = EdgeEvaluation.replay(EdgeEvaluation.Entry(e), side: e.side == .long ? .short : .long, candles: candles, funding: [:], rule: rule, config: flat)
        #expect(noSlip.entryPrice == market)
    }

    /// The baseline's replay charges every funding mark while open, as the engine and the paper
    /// exchange do: one whose 1m candle is missing on the close before the gap, one with its
    /// candle on that candle's open (it missed the first before).
    @Test func theReplayChargesAFundingMarkWhoseCandleIsMissing() throws {
        let mark: Int64 = 1_747_728_000_000  // 2025-05-20 08:00 UTC
        var candles: [Candle] = []
        for minute in -10...30 where minute != 0 {  // the candle of the mark is missing
            let p = minute < 0 ? 2.0 : 2.002
            candles.append(Candle(openTimeMs: mark + Int64(minute) * 60_000, open: p, high: p + 0.0005, low: p - 0.0005, close: p, volume: 1))
        }
        let rule = SymbolRules(symbol: "XRPUSDT", tickSize: Decimal(string: "0.0001")!, stepSize: Decimal(string: "0.1")!,
                               minQty: Decimal(string: "0.1")!, minNotional: 5)
        let entry = EdgeEvaluation.Entry(symbol: "XRPUSDT", side: .long, openedAtMs: mark - 5 * 60_000, entryPrice: 2, quantity: 10)
        let rate = 0.0001
        let held = EdgeEvaluation.replay(entry, side: .long, candles: candles, funding: [mark: rate], rule: rule, config: GobotConfig())
        #expect(held.closedAtMs == nil)  // no trigger: held to the end
        #expect(held.funding == Decimal(string: "-0.002")!, "\(held.funding)")  // 10 × 2.0 (the close before the gap) × 0.0001, paid by the long
        let short = EdgeEvaluation.replay(entry, side: .short, candles: candles, funding: [mark: rate], rule: rule, config: GobotConfig())
        #expect(short.funding == Decimal(string: "0.002")!)
        // With the candle there, on its open.
        let whole = (candles + [Candle(openTimeMs: mark, open: 2.001, high: 2.0015, low: 2.0005, close: 2.001, volume: 1)]).sorted { $0.openTimeMs < $1.openTimeMs }
        let charged = EdgeEvaluation.replay(entry, side: .long, candles: whole, funding: [mark: rate], rule: rule, config: GobotConfig())
        #expect(charged.funding == Decimal(string: "-0.002001")!)
        // The analyst's marked equity path pays it from the mark on, as the replay does.
        let path = EdgeEvaluation.markedPath(entry, outcome: held, candles: candles, funding: [mark: rate], feeRate: 0)
        let before = try #require(path.last { $0.ms < mark }), after = try #require(path.first { $0.ms > mark })
        #expect(abs(before.pnl - 0) < 1e-9 && abs(after.pnl - (0.02 - 0.002)) < 1e-9, "\(before) \(after)")  // 10 × (2.002 − 2) − 0.002
        // A mark before the entry is not charged.
        let later = EdgeEvaluation.Entry(symbol: "XRPUSDT", side: .long, openedAtMs: mark + 60_000, entryPrice: 2.002, quantity: 10)
        #expect(EdgeEvaluation.replay(later, side: .long, candles: candles, funding: [mark: rate], rule: rule, config: GobotConfig()).funding == 0)
    }

    /// The replay sees the candles the books saw: a symbol whose file runs on past the range (the
    /// other symbols' end, the engine's last cycle) does not close there a position the run left
    /// open (review 20, N4).
    @Test func theReplayStopsAtTheEndOfTheRange() throws {
        let t0: Int64 = 1_747_699_200_000
        func minutes(_ count: Int, price: (Int) -> Double) -> [Candle] {
            (0..<count).map { i in let p = price(i); return Candle(openTimeMs: t0 + Int64(i) * 60_000, open: p, high: p + 0.0005, low: p - 0.0005, close: p, volume: 1) }
        }
        // XRPUSDT falls through the stop at minute 90, after the range that ends with minute 59.
        let series = ["XRPUSDT": minutes(120) { $0 < 90 ? 2.0 : 1.9 }]
        let rule = SymbolRules(symbol: "XRPUSDT", tickSize: Decimal(string: "0.0001")!, stepSize: Decimal(string: "0.1")!,
                               minQty: Decimal(string: "0.1")!, minNotional: 5)
        let entry = EdgeEvaluation.Entry(symbol: "XRPUSDT", side: .long, openedAtMs: t0 + 10 * 60_000, entryPrice: 2, quantity: 5)
        let within = EdgeEvaluation.evaluate(entries: [entry], config: GobotConfig(), series: series, funding: [:], rules: ["XRPUSDT": rule],
                                             rangeMs: (t0, t0 + 60 * 60_000), options: EdgeEvaluation.Options(seeds: 10, folds: 1))
        #expect(within.outcomes[0].closedAtMs == nil && within.whole.open == 1, "\(within.outcomes[0])")
        #expect(within.outcomes[0].exitPrice == 2)  // marked at the range's last close
        let whole = EdgeEvaluation.evaluate(entries: [entry], config: GobotConfig(), series: series, funding: [:], rules: ["XRPUSDT": rule],
                                            rangeMs: (t0, t0 + 120 * 60_000), options: EdgeEvaluation.Options(seeds: 10, folds: 1))
        #expect(whole.outcomes[0].closedAtMs == t0 + 90 * 60_000 && whole.outcomes[0].exitReason == "stop-loss")
    }
}
