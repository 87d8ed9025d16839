import BinanceFutures
import Foundation
import GobotCore
import PaperExchange
import Testing
@testable import GobotSteps

/// The in-memory engine must make exactly the trades the cron steps make.
@Suite struct CoreBacktestTests {
    static let sample = BacktestTests.sample

    func compare(_ config: GobotConfig, days: Int64) async throws -> Int {
        let to = BacktestTests.start + days * BacktestTests.day
        let steps = try await Backtest.run(config: config, options: Backtest.Options(dataDir: Self.sample, fromMs: BacktestTests.start, toMs: to,
                                                                                       exchangeInfoPath: "\(Self.sample)/exchangeInfo.json"))
        let market = try ReplayData.load(dir: Self.sample, fromMs: BacktestTests.start, toMs: to)
        let info = try ExchangeInfoDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: "\(Self.sample)/exchangeInfo.json")))
        var c = config
        c.universe.symbols = market.symbols()
        c.universe.maxSymbols = max(c.universe.maxSymbols, market.symbols().count)
        let core = CoreBacktest(config: c, series: market.series, funding: market.funding, rules: info.rules).run()
        func key(_ symbol: String, _ side: PositionSide, _ qty: Decimal, _ entry: Decimal, _ exit: Decimal?, _ reason: String?,
                 _ opened: Int64, _ closed: Int64?, _ realized: Decimal?, _ fees: Decimal) -> String {
            "\(opened) \(symbol) \(side) \(qty) @ \(entry) → \(exit.map { "\($0)" } ?? "-") \(reason ?? "") closed \(closed ?? 0) pnl \(realized ?? 0) fees \(fees)"
        }
        let a = steps.positions.filter { $0.status != "failed" }.map {
            key($0.symbol, $0.side, $0.quantity, $0.entryPrice, $0.exitPrice, $0.exitReason, $0.openedAtMs, $0.closedAtMs, $0.realizedPnl, $0.fees)
        }
        let b = core.trades.map {
            key($0.symbol, $0.side, $0.quantity, $0.entryPrice, $0.exitPrice, $0.closedAtMs == nil ? nil : $0.exitReason, $0.openedAtMs, $0.closedAtMs,
                $0.closedAtMs == nil ? nil : $0.realizedPnl, $0.closedAtMs == nil ? 0 : $0.fees)
        }
        #expect(a == b)
        #expect(steps.totals.net == core.ledgerNet)
        #expect(steps.equity.count == core.equity.count)
        #expect(zip(steps.equity.map(\.usd), core.equity).allSatisfy { $0 == $1 }, "equity curves differ")
        return a.count
    }

    @Test func sameTradesAsTheStepsWithTheDefaultConfig() async throws {
        #expect(try await compare(GobotConfig(), days: 7) > 0)
    }

    @Test func sameTradesWithTightStopsAndTwoPositions() async throws {
        var c = GobotConfig()
        c.trading.stopLossPercent = Decimal(string: "0.5")!
        c.trading.takeProfitPercent = 1
        c.risk.maxOpenPositions = 2
        c.trading.symbolCooldownMinutes = 30
        c.trading.maxTradesPerDay = 20
        c.risk.dailyExposureLimitUSD = 200
        #expect(try await compare(c, days: 4) >= 5)
    }
}
