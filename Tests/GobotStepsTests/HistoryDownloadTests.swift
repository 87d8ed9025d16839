import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotTestSupport
import PaperExchange
import Testing
@testable import GobotSteps

/// `gobot data download` against the loopback FakeBinance, over real HTTP.
///
/// The fake serves the real XRPUSDT candles and funding events of sample-data. The project has no
/// real 1m mark-price history, so the fake serves the same candles on its mark-price endpoint:
/// these tests are about paging, files and limits, not about prices.
@Suite(.serialized) struct HistoryDownloadTests {
    static let t0 = BacktestTests.start
    static let candles: [Candle] = try! CandleCSV.parse(path: "\(BacktestTests.sample)/klines/XRPUSDT-1m.csv", columns: 6)
    static let funding: [(timeMs: Int64, rate: String)] = try! String(contentsOfFile: "\(BacktestTests.sample)/funding/XRPUSDT.csv", encoding: .utf8)
        .split(separator: "\n").dropFirst().map { line in
            let p = line.split(separator: ",")
            return (Int64(p[0])!, String(p[1]))
        }
    static let info = try! Data(contentsOf: URL(fileURLWithPath: BacktestTests.root).appendingPathComponent("Tests/Fixtures/binance/exchangeInfo.json"))

    struct Setup {
        let fake: FakeBinance
        let clock: ManualClock
        let download: HistoryDownload
        let waits: Waits
    }

    final class Waits: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Int64] = []
        func add(_ ms: Int64) { lock.withLock { list.append(ms) } }
        var all: [Int64] { lock.withLock { list } }
    }

    /// The clock stands ten days after the sample starts; sleeping moves it on.
    func setup(minutes: Int, budget: Int = 1200, url: String? = nil) async throws -> Setup {
        let fake = try FakeBinance()
        let started = try await fake.start()
        await fake.setExchangeInfo(Self.info)
        await fake.setHistory("XRPUSDT", klines: Array(Self.candles.prefix(minutes)), marks: Array(Self.candles.prefix(minutes)), funding: Self.funding)
        await fake.setHistory("BTCUSDT", klines: [])
        let clock = ManualClock(ms: Self.t0 + 10 * BacktestTests.day)
        let waits = Waits()
        let client = BinanceClient(baseURL: url ?? started, transport: URLSessionTransport(timeoutSeconds: 60), credentials: nil,
                                   state: MemoryExchangeState(), weightBudget: budget, nowMs: { clock.nowMs() }, sleep: { _ in })
        let download = HistoryDownload(client: client, nowMs: { clock.nowMs() }, sleep: { ms in waits.add(ms); clock.advance(ms: ms) })
        return Setup(fake: fake, clock: clock, download: download, waits: waits)
    }

    func options(_ dir: String, minutes: Int64, symbols: [String] = ["XRPUSDT"]) -> HistoryDownload.Options {
        HistoryDownload.Options(symbols: symbols, fromMs: Self.t0, toMs: Self.t0 + minutes * 60_000, dir: dir)
    }

    @Test func pagesOf1500AndASecondRunFetchesOnlyWhatIsMissing() async throws {
        let tmp = TempDir()
        let s = try await setup(minutes: 3300)
        defer { Task { await s.fake.stop() } }
        // Given 3,200 minutes asked for
        let first = try await s.download.run(options(tmp.path, minutes: 3200))
        // Then klines and mark prices come in pages of 1500 (1500 + 1500 + 200)
        #expect(await s.fake.count(path: "/fapi/v1/klines") == 3)
        #expect(await s.fake.count(path: "/fapi/v1/markPriceKlines") == 3)
        #expect(await s.fake.requests.filter { $0.path == "/fapi/v1/klines" }.allSatisfy { $0.query["limit"] == "1500" && $0.query["interval"] == "1m" })
        #expect(first[0].files.map(\.rows) == [3200, 3200, 7])  // 7 funding events in 2 days and 5 hours
        // And the replay loader reads back exactly the exchange's candles, with mark prices and funding
        let market = try ReplayData.load(dir: tmp.path)
        #expect(market.series["XRPUSDT"] == Array(Self.candles.prefix(3200)))
        #expect(market.markSeries["XRPUSDT"]?.count == 3200)
        #expect(market.triggerPriceSource == .markPrice)
        #expect(market.funding["XRPUSDT"]?.count == 7)
        #expect(FileManager.default.fileExists(atPath: tmp.file("exchangeInfo.json")))
        let before = try String(contentsOfFile: tmp.file("klines/XRPUSDT-1m.csv"), encoding: .utf8)

        // When run again over the same range: no kline request, identical files
        let again = try await s.download.run(options(tmp.path, minutes: 3200))
        #expect(await s.fake.count(path: "/fapi/v1/klines") == 3)
        #expect(await s.fake.count(path: "/fapi/v1/markPriceKlines") == 3)
        #expect(again[0].files.map(\.added) == [0, 0, 0])
        #expect(try String(contentsOfFile: tmp.file("klines/XRPUSDT-1m.csv"), encoding: .utf8) == before)

        // When the range grows by 100 minutes: one more page each, appended
        let grown = try await s.download.run(options(tmp.path, minutes: 3300))
        #expect(await s.fake.count(path: "/fapi/v1/klines") == 4)
        #expect(await s.fake.requests.last { $0.path == "/fapi/v1/klines" }?.query["startTime"] == String(Self.t0 + 3200 * 60_000))
        #expect(grown[0].files[0].added == 100 && grown[0].files[0].rows == 3300)
        #expect(try ReplayData.load(dir: tmp.path).series["XRPUSDT"] == Array(Self.candles.prefix(3300)))
    }

    @Test func anEarlierStartIsMergedInFrontAndTheFileStaysSorted() async throws {
        let tmp = TempDir()
        let s = try await setup(minutes: 600)
        defer { Task { await s.fake.stop() } }
        _ = try await s.download.run(HistoryDownload.Options(symbols: ["XRPUSDT"], fromMs: Self.t0 + 300 * 60_000, toMs: Self.t0 + 600 * 60_000, dir: tmp.path))
        let r = try await s.download.run(options(tmp.path, minutes: 600))
        #expect(r[0].files[0].added == 300)
        #expect(try ReplayData.load(dir: tmp.path).series["XRPUSDT"] == Array(Self.candles.prefix(600)))
        #expect(try DataCheck.run(dir: tmp.path).filter { !$0.clean }.isEmpty)
    }

    @Test func the429AndTheWeightBudgetAreWaitedOut() async throws {
        let tmp = TempDir()
        // A budget of 25 lets two 1500-kline requests (weight 10 each) through per minute.
        let s = try await setup(minutes: 3200, budget: 25)
        defer { Task { await s.fake.stop() } }
        await s.fake.inject(.status429(retryAfterSeconds: 7), on: "/fapi/v1/klines")
        let r = try await s.download.run(options(tmp.path, minutes: 3200))
        #expect(r[0].files.map(\.rows) == [3200, 3200, 7])
        // The 429 was honoured (Retry-After 7 s) and the budget made the download wait for new minutes.
        #expect(s.waits.all.contains { $0 >= 7_000 })
        #expect(s.waits.all.count >= 3)
        #expect(try ReplayData.load(dir: tmp.path).series["XRPUSDT"] == Array(Self.candles.prefix(3200)))
    }

    @Test func aBanStopsTheRunAndSaysWhatWasKept() async throws {
        let tmp = TempDir()
        let s = try await setup(minutes: 2000)
        defer { Task { await s.fake.stop() } }
        await s.fake.inject(.status418(bannedUntilMs: s.clock.nowMs() + 3_600_000), on: "/fapi/v1/markPriceKlines")
        do {
            _ = try await s.download.run(options(tmp.path, minutes: 2000))
            Issue.record("expected the ban to stop the download")
        } catch let e as HistoryDownload.DownloadError {
            guard case .interrupted(.banned, let kept) = e else { Issue.record("wrong error \(e)"); return }
            #expect(kept.first?.files.first { $0.kind == "klines" }?.rows == 2000)
            #expect(e.description.contains("kept") && e.description.contains("klines 2000 rows"))
        }
        // The klines are on disk; the next run fetches none of them again.
        let before = await s.fake.count(path: "/fapi/v1/klines")
        _ = try await s.setupFreeRun(tmp.path)
        #expect(await s.fake.count(path: "/fapi/v1/klines") == before)
    }

    @Test func noNetworkIsTemporaryAndKeepsNothingHalfWritten() async throws {
        let tmp = TempDir()
        let s = try await setup(minutes: 10, url: "http://127.0.0.1:9")
        defer { Task { await s.fake.stop() } }
        do {
            _ = try await s.download.run(options(tmp.path, minutes: 10))
            Issue.record("expected no network")
        } catch let e as HistoryDownload.DownloadError {
            guard case .interrupted(let cause, let kept) = e else { Issue.record("wrong error \(e)"); return }
            #expect(cause.isTemporary)
            #expect(kept.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.file("klines/XRPUSDT-1m.csv")))
    }

    @Test func unknownSymbolsAndRangesBeforeListingAreNamed() async throws {
        let tmp = TempDir()
        let s = try await setup(minutes: 10)
        defer { Task { await s.fake.stop() } }
        await #expect(throws: HistoryDownload.DownloadError.self) { _ = try await s.download.run(options(tmp.path, minutes: 10, symbols: ["XRPUSDT", "XRPUSD"])) }
        do { _ = try await s.download.run(options(tmp.path, minutes: 10, symbols: ["XRPUSD"])) } catch {
            #expect("\(error)" == "XRPUSD is not a USDⓈ-M futures symbol on Binance (did you mean XRPUSDT?)")
        }
        // BTCUSDT_251226 was listed on 2025-06-25, after this range.
        do { _ = try await s.download.run(options(tmp.path, minutes: 10, symbols: ["BTCUSDT_251226"])) } catch {
            #expect("\(error)".contains("was listed on 2025-06-25"))
        }
        // Nothing was fetched for XRPUSDT before the bad name was found.
        #expect(await s.fake.count(path: "/fapi/v1/klines") == 0)
    }
}

extension HistoryDownloadTests.Setup {
    /// Runs the download again after the ban has passed.
    func setupFreeRun(_ dir: String) async throws -> [HistoryDownload.SymbolReport] {
        clock.advance(ms: 3_700_000)
        return try await download.run(HistoryDownload.Options(symbols: ["XRPUSDT"], fromMs: HistoryDownloadTests.t0,
                                                              toMs: HistoryDownloadTests.t0 + 2000 * 60_000, dir: dir))
    }
}
