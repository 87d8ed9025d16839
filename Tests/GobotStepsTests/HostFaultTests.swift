import BinanceFutures
import Foundation
import GobotCore
import GobotStore
import GobotTestSupport
import GRDB
import Testing
@testable import GobotSteps

/// Faults of the host rather than the exchange: a stop request, a killed run, a damaged or
/// unwritable database, a full disk, a wrong clock (issue #14).
@Suite struct HostFaultTests {
    static let day0: Int64 = 1_700_000_000_000  // 2023-11-14 22:13 UTC

    func runner(_ dir: borrowing TempDir, clock: ManualClock = ManualClock(ms: day0), extra: String = "") throws -> StepRunner {
        let yaml = DefaultConfig.yaml.replacingOccurrences(of: "/tmp/gobot_kill_switch", with: dir.file("kill")) + extra
        try yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        return StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir.file("state"), environment: [:], clock: clock)
    }

    /// Overwrites `table`'s root page of the (non-WAL) SQLite file at `path` with garbage.
    static func damage(_ path: String, table: String) throws {
        let (root, pageSize) = try DatabaseQueue(path: path).read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = ?", arguments: [table])!,
             try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seek(toOffset: UInt64((root - 1) * pageSize))
        try h.write(contentsOf: Data((0..<pageSize).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
        try h.close()
    }

    @Test func aStopRequestDuringTheStepIsRecordedAsTerminatedWithOneLine() async throws {
        let dir = TempDir()
        let runner = try runner(dir)
        let stop = runner.stop
        let r = await runner.run(.trade) { ctx in
            stop.request(signal: SIGTERM)
            #expect(ctx.stop.isRequested)  // the step sees it through its context
            return StepReport(message: "trade: XRPUSDT: long 5 @ 2, stop 1.96, target 2.08")
        }
        #expect(r.exit == .terminated && r.exit.rawValue == 143)
        #expect(r.outcome == "terminated")
        #expect(r.message == "gobot trade: stopped by SIGTERM, no new entries; trade: XRPUSDT: long 5 @ 2, stop 1.96, target 2.08")
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(try db.runs(step: "trade").map(\.outcome) == ["terminated"])
        #expect(try db.runs(step: "trade").map(\.exitCode) == [143])
    }

    @Test func aRunLeftRunningByAKillIsClosedByTheNextRunOfThatStep() async throws {
        let dir = TempDir()
        let runner = try runner(dir)
        _ = await runner.run(.scan) { _ in StepReport(message: "scanned") }
        // A process killed with SIGKILL records its start and nothing else.
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        _ = try db.startRun(step: "trade", atMs: Self.day0)
        _ = try db.startRun(step: "reconcile", atMs: Self.day0)
        #expect(try db.runs(step: "trade").map(\.outcome) == ["running"])
        _ = await runner.run(.trade) { _ in StepReport(message: "traded") }
        let trade = try db.runs(step: "trade")
        #expect(trade.map(\.outcome) == ["killed", "ok"])
        #expect(trade[0].finishedAtMs != nil)
        #expect(trade[0].message.contains("the process was killed"))
        // Another step's run is that step's business (it may be running right now).
        #expect(try db.runs(step: "reconcile").map(\.outcome) == ["running"])
    }

    @Test func aDamagedDatabaseIsRefusedNamedAndLeftUntouched() async throws {
        let dir = TempDir()
        let runner = try runner(dir)
        _ = await runner.run(.halt) { try await Steps.halt($0, reason: "drill", flatten: false, actor: "test") }
        let live = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        // A copy in a second state directory, with the positions table's root page overwritten.
        let dir2 = TempDir()
        try FileManager.default.createDirectory(atPath: dir2.file("state/backups"), withIntermediateDirectories: true)
        let damaged = dir2.file("state/gobot.sqlite")
        try live.backup(to: damaged)
        try live.backup(to: dir2.file("state/backups/gobot-2023-11-13.sqlite"))
        try Self.damage(damaged, table: "positions")
        let before = try Data(contentsOf: URL(fileURLWithPath: damaged))
        let runner2 = StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir2.file("state"), environment: [:],
                                 clock: ManualClock(ms: Self.day0))
        for step in [StepName.status, .reconcile, .report, .halt, .trade] {
            let r = await runner2.run(step) { _ in
                Issue.record("\(step) must not run on a damaged database")
                return StepReport(message: "ran")
            }
            #expect(r.exit == .failed, "\(step)")
            #expect(r.message.contains("the state database \(damaged) is damaged"))
            #expect(r.message.contains("restore the newest backup \(dir2.file("state/backups/gobot-2023-11-13.sqlite"))"))
            #expect(r.message.contains("(alert: stderr only (telegram is not configured))"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: damaged)) == before)
        #expect(!FileManager.default.fileExists(atPath: damaged + "-wal"))
        // No backup of the damaged file was taken.
        #expect(StateBackup.existing(StepPaths(stateDir: dir2.file("state"))).count == 1)
    }

    @Test func theDamageAlertGoesToTelegramDirectlyBecauseTheOutboxIsInTheDamagedFile() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        defer { Task { await server.stop() } }
        await server.enqueue(.json(200, #"{"ok":true,"result":{"message_id":1}}"#))
        let dir = TempDir()
        _ = try runner(dir, extra: "")
        let yaml = try String(contentsOfFile: dir.file("config.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "telegram:\n  enabled: false", with: "telegram:\n  enabled: true\n  api_base_url: \(url)")
        try yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        let seed = try GobotDatabase.open(path: dir.file("seed.sqlite"))
        try seed.backup(to: dir.file("state/gobot.sqlite"))
        try Self.damage(dir.file("state/gobot.sqlite"), table: "outbox")
        let runner = StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir.file("state"),
                                environment: ["TELEGRAM_TOKEN": "123456:TEST-token-for-loopback", "TELEGRAM_CHAT_ID": "111111111"],
                                clock: ManualClock(ms: Self.day0))
        let r = await runner.run(.reconcile) { _ in StepReport(message: "ran") }
        #expect(r.exit == .failed)
        #expect(r.message.hasSuffix("(alert: sent to Telegram)"))
        let sent = await server.received
        #expect(sent.count == 1)
        let body = String(decoding: sent.first?.body ?? Data(), as: UTF8.self)
        #expect(body.contains("is damaged"))
        #expect(body.contains("111111111"))
        #expect(!body.contains("TEST-token"))
        // The next step a minute later does not repeat it (cron would send one a minute).
        let again = await runner.run(.scan) { _ in StepReport(message: "ran") }
        #expect(again.exit == .failed)
        #expect(again.message.contains("alert: already sent to Telegram at "))
        #expect(await server.received.count == 1)
    }

    @Test func theFirstRunOfEachUTCDayTakesABackupAndOnlyTheNewestAreKept() async throws {
        let dir = TempDir()
        let clock = ManualClock(ms: Self.day0)
        let runner = try runner(dir, clock: clock)
        let yaml = try String(contentsOfFile: dir.file("config.yaml"), encoding: .utf8).replacingOccurrences(of: "backup_keep: 7", with: "backup_keep: 3")
        try yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        for day in 0..<5 {
            for _ in 0..<2 {
                _ = await runner.run(.scan) { _ in StepReport(message: "scanned") }
                clock.advance(ms: 3_600_000)
            }
            clock.set(Self.day0 + Int64(day + 1) * 86_400_000)
        }
        let paths = StepPaths(stateDir: dir.file("state"))
        let names = StateBackup.existing(paths).map { ($0 as NSString).lastPathComponent }
        #expect(names == ["gobot-2023-11-18.sqlite", "gobot-2023-11-17.sqlite", "gobot-2023-11-16.sqlite"])
        // A backup is a complete database: it opens, passes its check and holds the runs before it.
        let copy = try GobotDatabase.open(path: StateBackup.existing(paths)[0])
        #expect(try copy.quickCheck().isEmpty)
        #expect(try copy.runs(step: "scan").count == 9)  // 8 finished, and the one that took it
    }

    @Test func anUnwritableStateIsNotTryLater() throws {
        let path = "/state/gobot.sqlite"
        // The codes SQLite returns on a read-only filesystem, a permission problem and a full disk.
        for code in [ResultCode.SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_FULL, ResultCode(rawValue: 8 | (1 << 8))] {
            let e = StateDatabaseError.classify(DatabaseError(resultCode: code, message: "attempt to write a readonly database"), path: path)
            #expect(e.stepExit == .cantCreate, "\(code)")
            #expect(e.description.contains("cannot write the state database /state/gobot.sqlite"))
        }
        #expect(StateDatabaseError.classify(DatabaseError(resultCode: .SQLITE_BUSY), path: path).stepExit == .tryLater)
        #expect(StateDatabaseError.classify(DatabaseError(resultCode: .SQLITE_CORRUPT), path: path).stepExit == .failed)
        #expect(StateDatabaseError.classify(DatabaseError(resultCode: .SQLITE_NOTADB), path: path) == .damaged(path: path, problems: ["file is not a database"]))
        #expect(FileLock.Failure.cannotOpen(path: "/state/locks/scan.lock", errno: EROFS).stepExit == .cantCreate)
        #expect(FileLock.Failure.held(path: "/state/locks/scan.lock").stepExit == .tryLater)
    }

    @Test func aStateDirectoryThatCannotBeCreatedExits73() async throws {
        let dir = TempDir()
        let runner = try runner(dir)
        // A file where the locks directory should be: fails for root too.
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.file("state/locks"), contents: Data("x".utf8))
        let r = await runner.run(.scan) { _ in StepReport(message: "scanned") }
        #expect(r.exit == .cantCreate)
        #expect(r.message.contains("cannot create the state directory \(dir.file("state"))"))
    }

    @Test func statusWarnsWhenTheHostClockIsOffTheExchange() async throws {
        let dir = TempDir()
        let runner = try runner(dir)
        let ok = await runner.run(.status) { try Steps.status($0, json: false) }
        #expect(!ok.message.contains("WARNING"))
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        try DatabaseExchangeState(db: db, breakerThreshold: 5, breakerCooldownMs: 1000).setClockOffset(-3_600_000, atMs: Self.day0 - 120_000)
        let r = await runner.run(.status) { try Steps.status($0, json: false) }
        #expect(r.message.hasPrefix("WARNING: host clock is 3600000 ms ahead of the exchange (measured 2 min ago); trade refuses entries beyond execution.max_clock_skew_ms 1000"))
        let json = await runner.run(.status) { try Steps.status($0, json: true) }
        #expect(json.message.contains("\"warnings\""))
        try DatabaseExchangeState(db: db, breakerThreshold: 5, breakerCooldownMs: 1000).setClockOffset(400, atMs: Self.day0)
        #expect(!(await runner.run(.status) { try Steps.status($0, json: false) }).message.contains("WARNING"))
    }

    @Test func tradeRefusesTheEntryWhenTheStateDiskIsNearlyFull() async throws {
        let dir = TempDir()
        var h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        h.ctx.paths = StepPaths(stateDir: dir.path)
        h.ctx.config.state.minFreeMB = 1_000_000  // more than this test machine has free
        try h.signal()
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("XRPUSDT: rejected, only "))
        #expect(report.message.contains("MB free on the state filesystem, below state.min_free_mb 1000000"))
        #expect(h.exchange.marketOrders == 0)
    }

    @Test func tradeRefusesTheEntryWhenTheHostClockIsOffTheExchange() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try DatabaseExchangeState(db: h.db, breakerThreshold: 5, breakerCooldownMs: 1000).setClockOffset(5_000, atMs: h.clock.nowMs())
        try h.signal()
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("XRPUSDT: rejected, the host clock is 5000 ms behind the exchange"))
        #expect(h.exchange.marketOrders == 0)
    }

    @Test func aClockMeasurementThatDoesNotReadStopsTheEntryInsteadOfReadingAsUnsynced() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        // A damaged row used to read as "never synced": offset 0 and no skew check at all.
        try h.db.setValue("5000:", forKey: DatabaseExchangeState.offsetKey, atMs: h.clock.nowMs())
        try h.signal()
        await #expect(throws: GobotStore.RowDecodingError.self) { _ = try await Steps.trade(h.ctx) }
        #expect(h.exchange.marketOrders == 0)
        #expect(try h.db.orders().isEmpty)
        let warnings = HostHealth.warnings(config: h.ctx.config, paths: h.ctx.paths, db: h.db, nowMs: h.clock.nowMs())
        #expect(warnings.contains { $0.hasPrefix("the host clock's last measurement cannot be read") && $0.contains("kv.value") })
        // The client's next sync overwrites it, and entries go on.
        try DatabaseExchangeState(db: h.db, breakerThreshold: 5, breakerCooldownMs: 1000).setClockOffset(20, atMs: h.clock.nowMs(), roundTripMs: 10)
        _ = try await Steps.trade(h.ctx)
        #expect(h.exchange.marketOrders == 1)
        #expect(try h.db.livePositions().count == 1)
    }

    @Test func tradeSendsNoNewEntryOnceAStopIsRequested() async throws {
        let h = try TradingHarness(prices: Array(repeating: 2.0, count: 30))
        try h.signal()
        h.ctx.stop.request(signal: SIGTERM)
        let report = try await Steps.trade(h.ctx)
        #expect(report.message.contains("XRPUSDT: not entered, SIGTERM received"))
        #expect(h.exchange.marketOrders == 0)
        #expect(try h.db.orders().isEmpty)
    }
}
