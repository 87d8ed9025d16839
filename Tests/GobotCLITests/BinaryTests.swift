import Foundation
import GobotStore
import GobotSteps
import Testing

/// Runs the built `gobot` binary as cron would: real processes, real files, real exit codes.
@Suite(.serialized) struct BinaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let p = ProcessInfo.processInfo.environment["GOBOT_BINARY"] { return p }
        return root.appendingPathComponent(".build/debug/gobot").path
    }

    struct Output { var code: Int32; var stdout: String; var stderr: String }

    static func gobot(_ args: [String], cwd: String, env: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func workdir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try gobot(["init"], cwd: dir)
        let config = "\(dir)/config/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "/tmp/gobot_kill_switch", with: "\(dir)/kill_switch")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return dir
    }

    @Test func aHeldLockMakesASecondProcessExit75AtOnce() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // This test process holds the scan lock, as a long-running scan would.
        let lock = try FileLock.acquire(path: "\(dir)/state/locks/scan.lock")
        let busy = try Self.gobot(["scan"], cwd: dir)
        #expect(busy.code == 75)
        #expect(busy.stderr.split(separator: "\n").count == 1)
        #expect(busy.stderr.contains("another gobot process holds"))
        // Another step has its own lock and is not blocked.
        #expect(try Self.gobot(["report"], cwd: dir).code == 0)
        lock.release()
        let after = try Self.gobot(["scan", "--config", "config/config.yaml"], cwd: dir, env: ["GOBOT_TEST_NO_NETWORK": "1"])
        #expect(!after.stderr.contains("another gobot process holds"))
    }

    @Test func twoConcurrentBinariesNeverBothHoldTheTradeLock() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The child holds account.lock (trade+reconcile share it) while the binary tries to reconcile.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["\(dir)/state/locks/account.lock", "sleep", "3"]
        try holder.run()
        defer { holder.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let busy = try Self.gobot(["reconcile"], cwd: dir)
        #expect(busy.code == 75)
        #expect(busy.stderr.contains("account.lock"))
    }

    @Test func killSwitchFileHaltsTradingWithoutAnyCommand() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: "\(dir)/kill_switch", contents: Data())
        let r = try Self.gobot(["trade"], cwd: dir)
        #expect(r.code == 0)
        #expect(r.stdout.contains("halted, not run: kill switch file"))
        let status = try Self.gobot(["status"], cwd: dir)
        #expect(status.stdout.contains("last trade: halted"))
    }

    @Test func badConfigExits78AndNamesTheKey() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "trading:\n  stop_loss_procent: 2\n".write(toFile: "\(dir)/bad.yaml", atomically: true, encoding: .utf8)
        let r = try Self.gobot(["config", "check", "--config", "bad.yaml"], cwd: dir)
        #expect(r.code == 78)
        #expect(r.stderr.contains("line 2: trading.stop_loss_procent: unknown key; did you mean 'trading.stop_loss_percent'?"))
        let usage = try Self.gobot(["scan", "--no-such-flag"], cwd: dir)
        #expect(usage.code == 64)
    }

    @Test func configCheckNeverPrintsSecrets() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "zz-very-secret-binance-key-0123456789"
        let r = try Self.gobot(["config", "check"], cwd: dir, env: ["BINANCE_API_SECRET": secret])
        #expect(r.code == 0)
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        #expect(r.stdout.contains("BINANCE_API_SECRET: set (37 chars, ...89)"))
    }

    @Test func auditVerifyFailsAfterTampering() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.gobot(["halt", "--reason", "drill"], cwd: dir).code == 0)
        #expect(try Self.gobot(["resume"], cwd: dir).code == 0)
        #expect(try Self.gobot(["audit", "verify"], cwd: dir).stdout.contains("audit chain valid (2 entries)"))
        let db = try GobotDatabase.open(path: "\(dir)/state/gobot.sqlite")
        try db.write { try $0.execute(sql: "UPDATE audit SET detail = 'nothing happened' WHERE id = 1") }
        let r = try Self.gobot(["audit", "verify"], cwd: dir)
        #expect(r.code == 1)
        #expect(r.stderr.contains("audit chain broken at entry 1"))
    }
}

extension BinaryTests {
    @Test func backtestRunsOnTheBundledSampleAndWritesItsReport() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.gobot(["backtest", "--data", "\(Self.root.path)/sample-data", "--from", "2025-05-20", "--to", "2025-05-22", "--out", "\(dir)/out"], cwd: dir)
        #expect(r.code == 0)
        #expect(r.stdout.contains("backtest 2025-05-20"))
        #expect(r.stdout.contains("net P&L:"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out/backtest-equity.png"))
        let html = try String(contentsOfFile: "\(dir)/out/backtest.html", encoding: .utf8)
        #expect(html.contains("data:image/png;base64,"))
        let bad = try Self.gobot(["backtest", "--from", "20-05-2025"], cwd: dir)
        #expect(bad.code == 64)
        #expect(bad.stderr.contains("--from must be a date like 2025-05-20"))
    }
}
