import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotTestSupport
import GobotStore
import GRDB
import PaperExchange
import Testing
@testable import GobotSteps

@Suite struct ScanTests {
    @Test func universeByVolumeAndSkipsOpenPositions() async throws {
        var h = try TradingHarness(prices: (0..<1500).map { 2.0 + Double($0 % 30) * 0.001 })
        h.at(minute: 1400)
        h.ctx.config.universe.symbols = []
        h.ctx.config.universe.minQuoteVolumeUSD = 1_000_000_000
        #expect(try await Steps.scan(h.ctx).message.hasPrefix("scan: 0 candidates"))
        h.ctx.config.universe.minQuoteVolumeUSD = 1000
        let picked = try await Steps.scan(h.ctx)
        #expect(picked.message.hasPrefix("scan: 1 candidate (XRPUSDT)"))
        // Only closed candles are stored, and a second scan fetches only what is new.
        let stored = try h.db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 1000)
        #expect(stored.last.map { $0.openTimeMs + 60_000 <= h.clock.nowMs() } == true)
        let before = try h.db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10_000).count
        h.at(minute: 1405)
        let again = try await Steps.scan(h.ctx)
        let after = try h.db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10_000).count
        #expect(after - before == 5)  // exactly the five minutes that closed since
        #expect(again.message.contains("new candles"))
        // With a position open, the symbol is skipped.
        try h.signal()
        _ = try await Steps.trade(h.ctx)
        #expect(try await Steps.scan(h.ctx).message.contains("skipped XRPUSDT (open position)"))
    }
}

extension ScanTests {
    @Test func aStoredCandleThatDoesNotReadIsDeletedAndFetchedAgainNotAnOutage() async throws {
        var h = try TradingHarness(prices: (0..<1500).map { 2.0 + Double($0 % 30) * 0.001 })
        h.at(minute: 1400)
        h.ctx.config.universe.symbols = ["XRPUSDT"]
        #expect(try await Steps.scan(h.ctx).message.hasPrefix("scan: 1 candidate (XRPUSDT)"))
        try h.db.write { try $0.execute(sql: "UPDATE candles SET close = 'n/a' WHERE interval = '15m' AND open_time_ms = (SELECT MAX(open_time_ms) FROM candles WHERE interval = '15m')") }
        h.at(minute: 1405)
        // It used to fail every scan from here on: scan fetches only after the newest stored candle.
        let healing = try await Steps.scan(h.ctx)
        #expect(healing.message.contains("stored candles of XRPUSDT did not read: deleted"))
        #expect(try h.db.candles(symbol: "XRPUSDT", interval: .m15, closedByMs: .max, limit: 10).isEmpty)
        h.at(minute: 1410)
        #expect(try await Steps.scan(h.ctx).message.hasPrefix("scan: 1 candidate (XRPUSDT)"))
        // A damaged open time (scan's newest-candle read, where GRDB would trap) heals the same way.
        try h.db.write { try $0.execute(sql: "UPDATE candles SET open_time_ms = 'later' WHERE interval = '5m' AND open_time_ms = (SELECT MAX(open_time_ms) FROM candles WHERE interval = '5m')") }
        h.at(minute: 1411)
        #expect(try await Steps.scan(h.ctx).message.contains("stored candles of XRPUSDT did not read: deleted"))
        h.at(minute: 1412)
        #expect(try await Steps.scan(h.ctx).message.hasPrefix("scan: 1 candidate (XRPUSDT)"))
        // The analysis meets damage in a frame scan does not read (1m) the same way.
        try h.db.write { try $0.execute(sql: "UPDATE candles SET open = 'n/a' WHERE interval = '1m' AND open_time_ms = (SELECT MAX(open_time_ms) FROM candles WHERE interval = '1m')") }
        let analysis = try await Steps.analyze(h.ctx)
        #expect(analysis.message.contains("XRPUSDT skipped (stored candles did not read"))
        #expect(try h.db.candles(symbol: "XRPUSDT", interval: .m1, closedByMs: .max, limit: 10).isEmpty)
    }
}

extension ScanTests {
    /// The candle prune runs once an hour (bf8347c): candles older than 3 days go at the first scan
    /// of each hour, at a scan after hours without one, and at a scan that finds no stored 1m candle
    /// of its symbol; the other scans leave the table alone, and no prune touches a candle of the
    /// last 3 days (what analyze, the charts and the scorecard read).
    @Test func candlesOlderThanThreeDaysArePrunedByTheFirstScanOfEachHourOnly() async throws {
        let minute: Int64 = 60_000, hour: Int64 = 3_600_000, keep: Int64 = 3 * 86_400_000
        var h = try TradingHarness(prices: (0..<600).map { 2.0 + Double($0 % 30) * 0.001 })
        h.ctx.config.universe.symbols = ["XRPUSDT"]
        // Cron every minute (30 s past, after start-up) across two hour boundaries, then stopped for hours.
        let times = (110...190).map { TradingHarness.t0 + Int64($0) * minute + 30_000 } + [TradingHarness.t0 + 500 * minute + 30_000]
        // Before this scan the symbol's stored candles are deleted (damaged rows): it finds no 1m candle.
        let emptiedBefore = TradingHarness.t0 + 150 * minute + 30_000
        // An old cache of a symbol scan no longer picks: a 1m candle every minute around each scan's
        // 3-day cutoff, and some well inside the 3 days.
        let lastScan: Int64 = times[times.count - 1] / minute * minute
        let firstCutoff: Int64 = times[0] / minute * minute - keep - 2 * hour, lastCutoff: Int64 = lastScan - keep + hour
        let aroundCutoffs: [Int64] = (0...Int((lastCutoff - firstCutoff) / minute)).map { firstCutoff + Int64($0) * minute }
        let inside: [Int64] = [lastScan - 2 * 86_400_000, lastScan - 37 * hour, lastScan - hour]
        let planted = aroundCutoffs + inside
        func stored(_ symbol: String) throws -> Set<Int64> {
            Set(try h.db.read { try Int64.fetchAll($0, sql: "SELECT open_time_ms FROM candles WHERE symbol = ?", arguments: [symbol]) })
        }
        var previous: Int64?
        var pruningScans: [Int64] = []
        for now in times {
            h.clock.set(now)
            if now == emptiedBefore { try h.db.deleteCandles(symbol: "XRPUSDT") }
            // Each scan meets the whole old cache, so each prune shows on its own.
            try h.db.storeCandles(symbol: "ETHUSDT", interval: .m1, planted.map { Candle(openTimeMs: $0, open: 3, high: 3, low: 3, close: 3, volume: 1) })
            let xrpBefore = try stored("XRPUSDT")
            let due = previous.map { $0 / hour != now / hour } ?? true || xrpBefore.isEmpty
            _ = try await Steps.scan(h.ctx)
            if due { pruningScans.append(now) }
            let expected = Set(due ? planted.filter { $0 >= now - keep } : planted)
            let minuteOfRun = (now - TradingHarness.t0) / minute
            #expect(try stored("ETHUSDT") == expected, "scan at minute \(minuteOfRun) \(due ? "should prune" : "should not prune")")
            #expect(try stored("XRPUSDT").isSuperset(of: xrpBefore), "scan at minute \(minuteOfRun) deleted candles of the last 3 days")
            previous = now
        }
        // The first scan, the first of hours 2 and 3, the one without candles, the one after the gap.
        #expect(pruningScans.count == 5)
        #expect(planted.contains { $0 < times[0] - keep } && planted.contains { $0 >= times.last! - keep })  // some to prune, some to keep
    }
}

@Suite struct RulesAnalystOnRealDataTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sample-data").path

    @Test func realCandlesGiveDeterministicSignalsConsistentWithTheTrend() async throws {
        let market = try ReplayData.load(dir: Self.sample, symbols: ["XRPUSDT", "BNBUSDT"])
        var directions: [Direction: Int] = [:]
        for symbol in ["XRPUSDT", "BNBUSDT"] {
            var t: Int64 = 1_747_699_200_000 + 12 * 3_600_000
            while t < 1_748_304_000_000 {
                let m1 = try await market.klines(symbol: symbol, interval: .m1, startMs: nil, limit: 120, nowMs: t)
                let m5 = try await market.klines(symbol: symbol, interval: .m5, startMs: nil, limit: 120, nowMs: t)
                let m15 = try await market.klines(symbol: symbol, interval: .m15, startMs: nil, limit: 120, nowMs: t)
                #expect(m15.last.map { $0.openTimeMs + Interval.m15.ms <= t } == true)  // nothing unclosed is visible
                let s = RulesAnalyst.analyze(m1: m1, m5: m5, m15: m15)
                #expect(s == RulesAnalyst.analyze(m1: m1, m5: m5, m15: m15))
                #expect((0...1).contains(s.confidence))
                if s.direction != .none {
                    let closes = m15.suffix(120).map(\.close)
                    let fast = Indicators.ema(closes, period: 9).last!, slow = Indicators.ema(closes, period: 21).last!
                    #expect(s.direction == .long ? fast > slow : fast < slow)
                }
                directions[s.direction, default: 0] += 1
                t += 3_600_000
            }
        }
        #expect(directions[.long, default: 0] > 0 && directions[.short, default: 0] > 0 && directions[.none, default: 0] > 0)
    }
}

/// A symbol that is not [A-Z0-9]+ never reaches a signed query or a client order id.
@Suite(.serialized) struct ScanOddSymbolTests {
    static let info = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/binance/exchangeInfo.json")

    @Test func symbolsNotMadeOfCapitalsAndDigitsAreDroppedWithANote() async throws {
        let fake = try FakeBinance()
        let url = try await fake.start()
        defer { Task { await fake.stop() } }
        // exchangeInfo as Binance sent it, plus trading symbols named the way some have been listed.
        var info = try #require(try JSONSerialization.jsonObject(with: try Data(contentsOf: Self.info)) as? [String: Any])
        var symbols = try #require(info["symbols"] as? [[String: Any]])
        let xrp = try #require(symbols.first { $0["symbol"] as? String == "XRPUSDT" })
        for odd in ["币安人生USDT", "XRP²USDT", "xrpUSDT"] {
            var copy = xrp
            copy["symbol"] = odd
            symbols.append(copy)
        }
        info["symbols"] = symbols
        await fake.setExchangeInfo(try JSONSerialization.data(withJSONObject: info))
        await fake.setTickers([("币安人生USDT", 1, 9_000_000_000), ("XRP²USDT", 1, 8_000_000_000), ("xrpUSDT", 1, 7_000_000_000), ("XRPUSDT", 2, 5_000_000_000)])
        let db = try GobotDatabase.inMemory()
        var config = GobotConfig()
        config.exchange.environment = .demo
        config.universe.symbols = []
        config.universe.minQuoteVolumeUSD = 1000
        let clock = SystemClock()
        let client = BinanceClient(baseURL: url, transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds), credentials: nil,
                                   state: MemoryExchangeState(), nowMs: { clock.nowMs() }, sleep: { _ in })
        let ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: [:]), step: .scan, exchange: client)
        let report = try await Steps.scan(ctx)
        #expect(report.message.contains("dropped 3 symbols not made of A-Z and 0-9"))
        let asked = Set(await fake.requests.filter { $0.path == "/fapi/v1/klines" }.compactMap { $0.query["symbol"] })
        #expect(asked == ["XRPUSDT"])
    }
}
