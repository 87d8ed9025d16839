import Foundation
import GobotCore
import GobotStore
import GobotSteps
import GobotTestSupport
import GRDB
import Testing

/// Host faults through the built binary (issue #14): SIGTERM and SIGKILL mid-trade against the
/// fake exchange over loopback, a damaged database, a read-only state filesystem.
@Suite(.serialized) struct HostFaultBinaryTests {
    static let info = BinaryTests.root.appendingPathComponent("Tests/Fixtures/binance/exchangeInfo.json")

    /// Runs blocking work (waiting for a child process) on its own thread: blocking one of the
    /// few cooperative threads would starve the in-process fake exchange the child talks to,
    /// and every other suite's loopback server.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            Thread { c.resume(with: Result { try body() }) }.start()
        }
    }

    static func gobot(_ args: [String], cwd: String, env: [String: String] = [:]) async throws -> BinaryTests.Output {
        try await offPool { try BinaryTests.gobot(args, cwd: cwd, env: env) }
    }

    /// A started binary whose output is collected when it ends.
    struct Running: @unchecked Sendable {
        let process: Process
        let out: Pipe, err: Pipe

        func wait() -> BinaryTests.Output {
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return BinaryTests.Output(code: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }

        func finish() async throws -> BinaryTests.Output { try await HostFaultBinaryTests.offPool { wait() } }
    }

    static func start(_ args: [String], cwd: String, env: [String: String]) throws -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BinaryTests.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return Running(process: p, out: out, err: err)
    }

    /// A workdir whose config trades on demo against `fake`, with two fresh signals (XRPUSDT, LINKUSDT).
    static func demoWorkdir(_ fake: FakeBinance) async throws -> (dir: String, env: [String: String]) {
        let url = try await fake.start()
        await fake.setExchangeInfo(try Data(contentsOf: info))
        await fake.setMark("XRPUSDT", 2)
        let dir = try await offPool { try BinaryTests.workdir() }
        let config = "\(dir)/config/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "environment: paper             # paper | demo | live", with: "environment: demo\n  base_url: \(url)")
            .replacingOccurrences(of: "max_open_positions: 1", with: "max_open_positions: 2")
            .replacingOccurrences(of: "kill_switch_enabled: true", with: "kill_switch_enabled: false")
            // The loopback round trip can take seconds while the suite loads both cores: a wide
            // recvWindow keeps the clock_uncertain gate out of this test (it has tests of its own).
            .replacingOccurrences(of: "recv_window_ms: 5000", with: "recv_window_ms: 30000")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let db = try GobotDatabase.open(path: "\(dir)/state/gobot.sqlite")
        let now = SystemClock().nowMs()
        for symbol in ["XRPUSDT", "LINKUSDT"] {
            _ = try db.storeSignal(candidateId: nil, symbol: symbol, atMs: now,
                                   signal: Signal(direction: .long, confidence: 0.9, rationale: "test", model: "test"), referencePrice: 2, chartHashes: [])
        }
        return (dir, ["BINANCE_API_KEY": FakeBinance.apiKey, "BINANCE_API_SECRET": FakeBinance.secret])
    }

    /// Waits (bounded) until the fake has received the entry order.
    static func waitForEntry(_ fake: FakeBinance) async throws {
        for _ in 0..<1200 where await fake.count(method: "POST", path: "/fapi/v1/order") == 0 {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(await fake.count(method: "POST", path: "/fapi/v1/order") == 1)
    }

    @Test func sigtermMidEntryProtectsWhatWasEnteredSendsNothingNewAndExits143() async throws {
        let fake = try FakeBinance()
        defer { Task { await fake.stop() } }
        let (dir, env) = try await Self.demoWorkdir(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The entry is accepted at once but answered 2 s later: SIGTERM arrives while it is in flight.
        await fake.inject(.delayAfterAccept(seconds: 2), on: "/fapi/v1/order")
        // A generous grace: this test is about finishing the protection, not about the cut-off
        // (a loaded test machine can be slow).
        let run = try Self.start(["trade"], cwd: dir, env: env.merging(["GOBOT_STOP_GRACE_SECONDS": "120"]) { _, n in n })
        try await Self.waitForEntry(fake)
        kill(run.process.processIdentifier, SIGTERM)
        let r = try await run.finish()

        #expect(r.code == 143)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("gobot trade: stopped by SIGTERM, no new entries; trade: XRPUSDT: long 5 @ 2, stop 1.96, target 2.08; LINKUSDT: not entered, SIGTERM received"))
        // What was entered is protected on the exchange; nothing else was sent.
        #expect(await fake.positions["XRPUSDT"] == 5)
        #expect(await fake.algo("gb-1-SL")?["algoStatus"] == "NEW")
        #expect(await fake.algo("gb-1-TP")?["algoStatus"] == "NEW")
        #expect(await fake.count(method: "POST", path: "/fapi/v1/order") == 1)
        let db = try GobotDatabase.open(path: "\(dir)/state/gobot.sqlite")
        let runs = try db.runs(step: "trade")
        #expect(runs.map(\.outcome) == ["terminated"])
        #expect(runs.map(\.exitCode) == [143])
        let status = try await Self.gobot(["status"], cwd: dir)
        #expect(status.stdout.contains("last trade: terminated exit 143"))
    }

    @Test func aStepThatOverrunsItsGraceAfterSigtermIsRecordedTerminatedAndExits143() async throws {
        let fake = try FakeBinance()
        defer { Task { await fake.stop() } }
        let (dir, env) = try await Self.demoWorkdir(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The entry's answer takes far longer than the grace period.
        await fake.inject(.delayAfterAccept(seconds: 8), on: "/fapi/v1/order")
        let run = try Self.start(["trade"], cwd: dir, env: env.merging(["GOBOT_STOP_GRACE_SECONDS": "0.5"]) { _, n in n })
        try await Self.waitForEntry(fake)
        kill(run.process.processIdentifier, SIGTERM)
        let r = try await run.finish()
        #expect(r.code == 143)
        #expect(r.stderr == "gobot trade: stopped by SIGTERM; the step did not finish within 0.5 s and was cut short (reconcile repairs what was left half-done)\n")
        let db = try GobotDatabase.open(path: "\(dir)/state/gobot.sqlite")
        #expect(try db.runs(step: "trade").map(\.outcome) == ["terminated"])
    }

    @Test func aRunKilledWithSigkillIsClosedAsKilledByTheNextRun() async throws {
        let fake = try FakeBinance()
        defer { Task { await fake.stop() } }
        let (dir, env) = try await Self.demoWorkdir(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        await fake.inject(.delayAfterAccept(seconds: 2), on: "/fapi/v1/order")
        let run = try Self.start(["trade"], cwd: dir, env: env)
        try await Self.waitForEntry(fake)
        kill(run.process.processIdentifier, SIGKILL)
        #expect(try await run.finish().code == 9 || run.process.terminationReason == .uncaughtSignal)
        let db = try GobotDatabase.open(path: "\(dir)/state/gobot.sqlite")
        #expect(try db.runs(step: "trade").map(\.outcome) == ["running"])
        _ = try await Self.gobot(["trade"], cwd: dir, env: env)
        let runs = try db.runs(step: "trade")
        #expect(runs.count == 2)
        #expect(runs.first?.outcome == "killed")
        #expect(runs.first?.message.contains("the process was killed") == true)
    }

    @Test func everyCommandRefusesADamagedDatabaseNamesItAndNeverWritesIt() async throws {
        let dir = try await Self.offPool { try BinaryTests.workdir() }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await Self.gobot(["halt", "--reason", "drill"], cwd: dir).code == 0)
        #expect(try await Self.gobot(["resume"], cwd: dir).code == 0)
        // The first run of the day took a backup.
        let backups = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/state/backups").filter { $0.hasSuffix(".sqlite") }
        #expect(backups.count == 1)
        // A copy of the database with one table's root page overwritten, as the state of a second directory.
        try FileManager.default.createDirectory(atPath: "\(dir)/state2/backups", withIntermediateDirectories: true)
        let damaged = "\(dir)/state2/gobot.sqlite"
        try FileManager.default.copyItem(atPath: "\(dir)/state/backups/\(backups[0])", toPath: damaged)
        try FileManager.default.copyItem(atPath: "\(dir)/state/backups/\(backups[0])", toPath: "\(dir)/state2/backups/\(backups[0])")
        let (root, pageSize) = try await DatabaseQueue(path: damaged).read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'audit'")!, try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
        try h.seek(toOffset: UInt64((root - 1) * pageSize))
        try h.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try h.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: damaged))

        for args in [["status"], ["reconcile"], ["report"], ["audit", "verify"], ["halt"], ["trade"], ["scan"], ["init"]] {
            let r = try await Self.gobot(args + ["--state-dir", "state2"], cwd: dir)
            #expect(r.code == 1, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("the state database state2/gobot.sqlite is damaged"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("restore the newest backup state2/backups/\(backups[0])"), "\(args)")
            #expect(r.stderr.contains("alert: stderr only"), "\(args)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: damaged)) == before)
    }

    /// Whether this machine lets an unprivileged user namespace bind-mount a directory read-only
    /// (root's permission bits cannot make a directory read-only; a read-only mount can).
    static let canMountReadOnly: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-rm", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: canMountReadOnly, "needs unshare -rm (user and mount namespaces)"))
    func aReadOnlyStateFilesystemExits73WithAClearMessage() async throws {
        let dir = try await Self.offPool { try BinaryTests.workdir() }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await Self.gobot(["status"], cwd: dir).code == 0)
        let script = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\""
        for step in ["status", "scan", "trade", "reconcile"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            p.arguments = ["-rm", "sh", "-c", script, "sh", "\(dir)/state", BinaryTests.binary, step]
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let r = try await Running(process: p, out: out, err: err).finish()
            #expect(r.code == 73, "\(step): \(r.stderr)")
            #expect(r.stderr.contains("Read-only file system"), "\(step): \(r.stderr)")
        }
    }
}
