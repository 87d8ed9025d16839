import BinanceFutures
import Foundation
import GobotCore
import PaperExchange
import Testing
@testable import GobotSteps

/// The engine skips the risk gate only where the gate would give the same rejection
/// (`CoreBacktest.gateShortcuts`): every run here is made with and without the shortcut, and the
/// trades, the rejection histogram, the ledger and both equity curves must be identical.
@Suite struct GateShortcutEngineTests {
    static func both(_ config: GobotConfig, series: [String: [Candle]], funding: [String: [Int64: Double]] = [:], rules: [String: SymbolRules],
                     marks: [String: [Candle]] = [:]) -> (on: CoreBacktest.Result, off: CoreBacktest.Result) {
        let on = CoreBacktest(config: config, series: series, funding: funding, rules: rules, markSeries: marks)
        var off = on
        off.gateShortcuts = false
        return (on.run(), off.run())
    }

    static func expectSame(_ r: (on: CoreBacktest.Result, off: CoreBacktest.Result), _ label: String) {
        #expect(r.on.trades == r.off.trades, "\(label): trades")
        #expect(r.on.rejections == r.off.rejections, "\(label): rejections \(r.on.rejections) vs \(r.off.rejections)")
        #expect(r.on.ledgerNet == r.off.ledgerNet, "\(label): ledger")
        #expect(r.on.equity == r.off.equity && r.on.markedEquity == r.off.markedEquity, "\(label): equity")
        // Without the shortcut every rejection comes from the gate itself.
        #expect(r.off.gateShortcutAnswers == 0)
        #expect(r.on.gateCalls + r.on.gateShortcutAnswers == r.off.gateCalls, "\(label): gate calls")
    }

    /// Win rate 1/3 exactly at 2:1 (stop 2 %, target 4 %): the prior alone (1/3 weighted as three
    /// trades) is the break-even, and it stays there after every third trade won.
    static func breakEven(capital: Decimal) -> GobotConfig {
        var c = GobotConfig()
        c.risk.kellyPriorWinRate = 1.0 / 3
        c.risk.kellyPriorTrades = 3
        c.trading.initialCapitalUSD = capital
        c.trading.maxTradesPerDay = 50
        c.risk.dailyExposureLimitUSD = 10_000
        return c
    }

    @Test func theConstructedBreakEvenIsExactlyOneThirdAtTwoToOne() {
        let p = KellySizer.winRate(closedTrades: 0, wins: 0, prior: 1.0 / 3, priorTrades: 3)
        #expect(p == 1.0 / 3)
        #expect(KellySizer.winRate(closedTrades: 3, wins: 1, prior: 1.0 / 3, priorTrades: 3) == p)
        // At exactly 2:1 the stake is not positive; one tick of rounding above it, it is.
        #expect(KellySizer.fullKelly(winRate: p, rewardRisk: 2) <= 0)
        #expect(KellySizer.fullKelly(winRate: p, rewardRisk: 2.0001) > 0)
    }

    /// Synthetic candles on XRPUSDT's tick: at break-even the gate says "kelly" where tick rounding
    /// leaves reward:risk at 2.0000 and "below_min_notional" (or trades, with enough capital) where
    /// it rounds above.
    @Test func sameTradesAndRejectionsAtBreakEvenOnSyntheticCandles() throws {
        let rules = try ExchangeInfoDecoder.decode(Data(Benchmarks.exchangeInfoJSON(symbols: ["XRPUSDT"]).utf8)).rules
        let candles = Benchmarks.syntheticOnTicks(count: 60 * 1440, startMs: 1_735_689_600_000)
        let lean = Self.both(Self.breakEven(capital: 100), series: ["XRPUSDT": candles], rules: rules)
        Self.expectSame(lean, "break-even, 100 USD")
        #expect(lean.off.rejections["kelly", default: 0] > 20 && lean.off.rejections["below_min_notional", default: 0] > 20)
        #expect(lean.on.gateShortcutAnswers > 40 && lean.on.gateCalls < lean.on.gateShortcutAnswers)
        #expect(lean.on.trades.isEmpty)

        let rich = Self.both(Self.breakEven(capital: 10_000), series: ["XRPUSDT": candles], rules: rules)
        Self.expectSame(rich, "break-even, 10,000 USD")
        #expect(rich.off.rejections["kelly", default: 0] > 0)
        #expect(!rich.on.trades.isEmpty && rich.on.gateShortcutAnswers > 0)
    }

    /// The bundled real sample (several symbols and ticks, funding), with the default settings, at
    /// break-even, and with tight stops, two positions and a higher prior.
    @Test func sameTradesAndRejectionsOnTheRealSample() throws {
        let dir = BacktestTests.sample
        let market = try ReplayData.load(dir: dir)
        let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/exchangeInfo.json")))
        var base = GobotConfig()
        base.universe.symbols = market.symbols()
        base.universe.maxSymbols = max(base.universe.maxSymbols, market.symbols().count)
        let tight = CoreBacktestTests.tight(base)
        var even = Self.breakEven(capital: 100)
        even.universe = base.universe
        var evenRich = Self.breakEven(capital: 10_000)
        evenRich.universe = base.universe
        var answered = 0, trades = 0
        for (label, c) in [("default", base), ("tight", tight), ("break-even", even), ("break-even rich", evenRich)] {
            let r = Self.both(c, series: market.series, funding: market.funding, rules: info.rules, marks: market.markSeries)
            Self.expectSame(r, label)
            answered += r.on.gateShortcutAnswers
            trades += r.on.trades.count
        }
        #expect(answered > 50)
        #expect(trades > 5)
    }
}
