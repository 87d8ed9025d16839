import Foundation
import GobotCore
import Testing
@testable import GobotSteps

@Suite struct BacktestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let sample = "\(root)/sample-data"
    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_747_699_200_000  // 2025-05-20

    func options(to: Int64?) -> Backtest.Options {
        Backtest.Options(dataDir: Self.sample, fromMs: Self.start, toMs: to, exchangeInfoPath: "\(Self.sample)/exchangeInfo.json")
    }

    @Test func removingLaterDataDoesNotChangeResultsUpToTheCut() async throws {
        // Given two runs, one on 3 days of real candles and one on only the first 2
        let full = try await Backtest.run(config: GobotConfig(), options: options(to: Self.start + 3 * Self.day))
        let cut = Self.start + 2 * Self.day
        let short = try await Backtest.run(config: GobotConfig(), options: options(to: cut))
        // Then every decision taken before the cut is identical
        func before(_ r: Backtest.Result) -> [String] {
            r.signals.filter { $0.createdAtMs < cut - 60_000 }.map { "\($0.createdAtMs) \($0.symbol) \($0.signal.direction) \($0.signal.confidence)" }
        }
        #expect(!before(short).isEmpty)
        #expect(before(full) == before(short))
        let closedBefore = { (r: Backtest.Result) in r.closed.filter { ($0.closedAtMs ?? .max) < cut - 60_000 }.map { "\($0.symbol) \($0.entryPrice) \($0.exitPrice ?? 0)" } }
        #expect(closedBefore(full) == closedBefore(short))
    }

    @Test func theBundledSampleTradesWithFeesAndReportsTheFigures() async throws {
        let r = try await Backtest.run(config: GobotConfig(), options: options(to: nil))
        #expect(r.candles == 4 * 10_080)
        #expect(!r.closed.isEmpty)
        #expect(r.totals.commission < 0)
        // BTCUSDT needs 100 USD notional, more than the 10 USD cap: never traded, and the analyst is
        // not even asked (analyze skips it as below_min_notional; AnalystSkipTests).
        #expect(!r.positions.contains { $0.symbol == "BTCUSDT" })
        #expect(!r.signals.contains { $0.symbol == "BTCUSDT" })
        for p in r.closed { #expect(["stop-loss", "take-profit"].contains(p.exitReason ?? "")) }
        let summary = Backtest.summary(r)
        #expect(summary.contains("95% Wilson"))
        #expect(summary.contains("max drawdown"))
        #expect(summary.contains("break-even win rate") && summary.contains("random sides") && summary.contains("edge: "))
    }
}
