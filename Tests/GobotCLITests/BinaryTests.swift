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
        try run(binary, args, cwd: cwd, env: env)
    }

    /// Runs a program to its end and collects its exit code, stdout and stderr.
    static func run(_ executable: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
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

    /// Another process (flock) holds `lock` for `seconds`, as a running cron step would; returns
    /// once it really holds it (a loaded CI machine may be slow to start it).
    static func holdLock(_ lock: String, seconds: Int) throws -> Process {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [lock, "sleep", String(seconds)]
        try holder.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, let probe = try? FileLock.acquire(path: lock) {
            probe.release()
            Thread.sleep(forTimeInterval: 0.05)
        }
        return holder
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
        let holder = try Self.holdLock("\(dir)/state/locks/account.lock", seconds: 4)
        defer { holder.waitUntilExit() }
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
        #expect(r.stdout.contains("backtest (in-memory engine) 2025-05-20"))
        #expect(r.stdout.contains("net P&L:"))
        #expect(r.stdout.contains("never tradable: BTCUSDT: smallest order 100 USDT > max_position_usd 10, skipped"))
        // --pipeline replays the cron steps through SQLite and lists the very same trades.
        let p = try Self.gobot(["backtest", "--pipeline", "--data", "\(Self.root.path)/sample-data", "--from", "2025-05-20", "--to", "2025-05-22",
                                "--out", "\(dir)/out-pipeline"], cwd: dir)
        #expect(p.code == 0)
        #expect(p.stdout.contains("backtest (step pipeline through SQLite) 2025-05-20"))
        let trades = { (s: String) in s.split(separator: "\n").filter { $0.hasPrefix("  20") } }
        #expect(!trades(r.stdout).isEmpty)
        #expect(trades(r.stdout) == trades(p.stdout))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out/backtest-equity.png"))
        let html = try String(contentsOfFile: "\(dir)/out/backtest.html", encoding: .utf8)
        #expect(html.contains("data:image/png;base64,"))
        let bad = try Self.gobot(["backtest", "--from", "20-05-2025"], cwd: dir)
        #expect(bad.code == 64)
        #expect(bad.stderr.contains("--from must be a date like 2025-05-20"))
    }
}

extension BinaryTests {
    /// The built binary as cron runs it: four steps every 5 minutes on the paper exchange,
    /// replaying the bundled real candles on a fixed clock (GOBOT_NOW_MS).
    @Test func cronCyclesOnPaperOpenProtectAndCloseATrade() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = "\(dir)/config/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "environment: paper             # paper | demo | live",
                                  with: "environment: paper\n  paper_data_dir: \(Self.root.path)/sample-data")
            .replacingOccurrences(of: "symbols: [BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT, XRPUSDT]", with: "symbols: [XRPUSDT, BNBUSDT]")
            .replacingOccurrences(of: "stop_loss_percent: 2.0", with: "stop_loss_percent: 0.5")
            .replacingOccurrences(of: "take_profit_percent: 4.0", with: "take_profit_percent: 1.0")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        var outputs: [String] = []
        var t: Int64 = 1_747_728_000_000  // 2025-05-20 08:00 UTC
        for _ in 0..<12 {
            for step in ["scan", "analyze", "trade", "reconcile"] {
                let r = try Self.gobot([step], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
                #expect(r.code == 0, "\(step) at \(t): \(r.stderr)")
                outputs.append(r.stdout)
            }
            t += 300_000
        }
        let all = outputs.joined(separator: "\n")
        // The market opened at 2.3459; the short sells 2 bps of slippage lower, and stop and target follow the fill.
        #expect(all.contains("trade: XRPUSDT: short 4.2 @ 2.3454, stop 2.3571, target 2.3219"))
        #expect(all.contains("reconcile: XRPUSDT: closed by stop-loss"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/state/charts/XRPUSDT-15m.png"))

        let report = try Self.gobot(["report"], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
        #expect(report.code == 0)
        #expect(report.stdout.contains("trades: 1 closed, 0 won"))
        let status = try Self.gobot(["status", "--json"], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect((json["equityUSD"] as? Double ?? 100) < 100)
        #expect((json["openPositions"] as? [Any])?.isEmpty == true)
        #expect(try Self.gobot(["audit", "verify"], cwd: dir).stdout.contains("audit chain valid"))
        let metrics = try String(contentsOfFile: "\(dir)/state/metrics/gobot.prom", encoding: .utf8)
        #expect(metrics.contains("gobot_realized_pnl_usd -0.0"))

        // The kill switch stops the next trade run; validate reports it, and what is not met yet.
        _ = FileManager.default.createFile(atPath: "\(dir)/kill_switch", contents: Data())
        #expect(try Self.gobot(["trade"], cwd: dir, env: ["GOBOT_NOW_MS": String(t)]).stdout.contains("halted, not run"))
        let v = try Self.gobot(["validate"], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
        #expect(v.code == 1)
        #expect(v.stdout.contains("FAIL  at least 100 closed trades: 1 closed"))
        #expect(v.stdout.contains("PASS  kill switch exercised"))
        #expect(v.stdout.contains("PASS  audit chain valid"))

        // A fixed clock is refused outside paper.
        let demo = text.replacingOccurrences(of: "environment: paper\n", with: "environment: demo\n")
        try demo.write(toFile: "\(dir)/demo.yaml", atomically: true, encoding: .utf8)
        let refused = try Self.gobot(["scan", "--config", "demo.yaml"], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
        #expect(refused.code == 78)
        #expect(refused.stderr.contains("only allowed with exchange.environment paper"))
    }

    @Test func dataImportCheckAndADownloadWithNoNetworkExit75() throws {
        let dir = try Self.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = Self.root.appendingPathComponent("Tests/Fixtures/history/XRPUSDT-1m-2025-05-20.csv").path
        let imported = try Self.gobot(["data", "import", fixture, "--dir", "hist"], cwd: dir)
        #expect(imported.code == 0)
        #expect(imported.stdout.contains("hist/klines/XRPUSDT-1m.csv: 0 → 90 rows"))
        // 90 clean minutes, but no funding file: named, exit 1.
        let checked = try Self.gobot(["data", "check", "hist"], cwd: dir)
        #expect(checked.code == 1)
        #expect(checked.stdout.contains("90 rows, 2025-05-20 00:00 → 2025-05-20 01:29"))
        #expect(checked.stdout.contains("no funding/XRPUSDT.csv"))
        #expect(try Self.gobot(["data", "check", Self.root.appendingPathComponent("sample-data").path], cwd: dir).code == 0)
        // Port 9 on loopback refuses: try later, and say so.
        let offline = try Self.gobot(["data", "download", "--symbols", "XRPUSDT", "--from", "2025-05-20", "--to", "2025-05-21", "--dir", "hist",
                                      "--base-url", "http://127.0.0.1:9"], cwd: dir)
        #expect(offline.code == 75)
        #expect(offline.stderr.contains("download stopped: exchange unavailable"))
        #expect(try Self.gobot(["data", "download", "--symbols", "XRPUSDT", "--from", "2025-13-01", "--to", "2025-05-21"], cwd: dir).code == 64)
    }
}
