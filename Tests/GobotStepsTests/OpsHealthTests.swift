import Foundation
import GobotCore
import GobotStore
import GobotTestSupport
import Testing
@testable import GobotSteps

/// Nothing stops silently: staleness alerts, dead-man's-switch pings, private state files.
@Suite struct OpsHealthTests {
    static let t0: Int64 = 1_700_000_000_000
    static let minute: Int64 = 60_000

    func runner(_ dir: borrowing TempDir, atMs: Int64, extraYAML: String = "") throws -> StepRunner {
        let yaml = DefaultConfig.yaml.replacingOccurrences(of: "/tmp/gobot_kill_switch", with: dir.file("kill")) + extraYAML
        try yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        return StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir.file("state"), environment: [:], clock: ManualClock(ms: atMs))
    }

    func staleMessages(_ db: GobotDatabase) throws -> [String] {
        try db.outbox().filter { $0.kind == "stale" }.map(\.payload)
    }

    @Test func aStaleReconcileIsAlertedOnceAndAgainWhenItRecovers() async throws {
        let dir = TempDir()
        let ok: @Sendable (StepContext) async throws -> StepReport = { _ in StepReport(message: "fine") }
        #expect(await (try runner(dir, atMs: Self.t0)).run(.reconcile, body: ok).exit == .ok)
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(try staleMessages(db).isEmpty)

        // 7 minutes without a reconcile (expected every 2): any step that runs notices, once.
        _ = await (try runner(dir, atMs: Self.t0 + 7 * Self.minute)).run(.status) { try Steps.status($0, json: false) }
        _ = await (try runner(dir, atMs: Self.t0 + 8 * Self.minute)).run(.status) { try Steps.status($0, json: false) }
        var alerts = try staleMessages(db)
        #expect(alerts.count == 1)
        #expect(alerts.first?.contains("reconcile has not succeeded for 7m (expected every 2 min)") == true)

        let status = await (try runner(dir, atMs: Self.t0 + 8 * Self.minute)).run(.status) { try Steps.status($0, json: true) }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.message.utf8)) as? [String: Any])
        let health = try #require(json["stepHealth"] as? [[String: Any]])
        #expect(health.first { $0["step"] as? String == "reconcile" }?["state"] as? String == "STALE")
        #expect(health.first { $0["step"] as? String == "trade" }?["state"] as? String == "waiting")
        #expect(json["commit"] as? String != nil && json["version"] as? String != nil)
        let metrics = try String(contentsOfFile: dir.file("state/metrics/gobot.prom"), encoding: .utf8)
        #expect(metrics.contains("gobot_step_stale{step=\"reconcile\"} 1"))
        #expect(metrics.contains("gobot_step_last_success_age_seconds{step=\"reconcile\"} 480"))
        #expect(metrics.contains("gobot_build_info{version=\""))

        // The next successful reconcile announces the recovery, once.
        #expect(await (try runner(dir, atMs: Self.t0 + 9 * Self.minute)).run(.reconcile, body: ok).exit == .ok)
        _ = await (try runner(dir, atMs: Self.t0 + 10 * Self.minute)).run(.reconcile, body: ok)
        alerts = try staleMessages(db)
        #expect(alerts.count == 2)
        #expect(alerts.last?.contains("reconcile is succeeding again") == true)
    }

    @Test func aFailingStepIsNotASuccessForStaleness() async throws {
        let dir = TempDir()
        _ = await (try runner(dir, atMs: Self.t0)).run(.reconcile) { _ in StepReport(message: "fine") }
        for m in [2, 4, 6, 8] as [Int64] {
            let r = await (try runner(dir, atMs: Self.t0 + m * Self.minute)).run(.reconcile) { _ in throw StepError.failed("exchange said no") }
            #expect(r.exit == .failed)
        }
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(try staleMessages(db).count == 1)
    }

    @Test func deadMansSwitchPingsStartSuccessAndFailWithoutChangingTheStep() async throws {
        let server = try ScriptedServer()
        let url = try await server.start()
        await server.setFallback(.json(200, "OK"))
        let dir = TempDir()
        // A generous timeout: a loaded CI machine must not turn a slow answer into a missing ping.
        let extra = "  ping_url: \(url)/ping/gobot-{step}\n  ping_timeout_seconds: 30\n"
        let ok = await (try runner(dir, atMs: Self.t0, extraYAML: extra)).run(.scan) { _ in StepReport(message: "scanned") }
        #expect(ok.exit == .ok)
        let failed = await (try runner(dir, atMs: Self.t0, extraYAML: extra)).run(.reconcile) { _ in throw StepError.failed("exchange said no") }
        #expect(failed.exit == .failed)
        let got = await server.received
        try #require(got.map(\.path) == ["/ping/gobot-scan/start", "/ping/gobot-scan", "/ping/gobot-reconcile/start", "/ping/gobot-reconcile/fail"])
        // Start and finish of one run share a run id, so the monitor can time the run.
        #expect(got[0].query == got[1].query && got[0].query.hasPrefix("rid="))
        #expect(got[2].query != got[0].query)
        #expect(String(decoding: got[3].body, as: UTF8.self).hasPrefix("exit 1: gobot reconcile:"))
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(HealthPing.failureCount(db) == 0)

        // A monitor that is down changes nothing but the failure count.
        await server.stop()
        let unreached = await (try runner(dir, atMs: Self.t0, extraYAML: extra)).run(.scan) { _ in StepReport(message: "scanned") }
        #expect(unreached == StepRunner.Result(exit: .ok, outcome: "ok", message: "scanned"))
        #expect(HealthPing.failureCount(db) == 2)
        let status = await (try runner(dir, atMs: Self.t0, extraYAML: extra)).run(.status) { try Steps.status($0, json: false) }
        #expect(status.message.contains("health pings: 2 could not be delivered"))
    }

    @Test func theStateDirectoryAndDatabaseAreCreatedPrivateAndStatusWarnsOtherwise() async throws {
        let dir = TempDir()
        let status = await (try runner(dir, atMs: Self.t0)).run(.status) { try Steps.status($0, json: false) }
        #expect(!status.message.contains("readable by others"))
        func mode(_ path: String) throws -> Int { try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) }
        #expect(try mode(dir.file("state")) == 0o700)
        #expect(try mode(dir.file("state/gobot.sqlite")) == 0o600)

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.file("state"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("state/gobot.sqlite"))
        let warned = await (try runner(dir, atMs: Self.t0)).run(.status) { try Steps.status($0, json: false) }
        #expect(warned.message.contains("warning: \(dir.file("state")) is readable by others (mode 755): chmod 700 \(dir.file("state"))"))
        #expect(warned.message.contains("warning: \(dir.file("state/gobot.sqlite")) is readable by others (mode 644): chmod 600"))
    }

    @Test func pingURLWithAStepPlaceholderIsAValidConfigAndGarbageIsNot() throws {
        let good = try ConfigLoader.parse("health:\n  ping_url: https://hc-ping.com/abc/gobot-{step}\n", file: "c.yaml")
        #expect(good.health.pingURL == "https://hc-ping.com/abc/gobot-{step}")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("health:\n  ping_url: not a url\n", file: "c.yaml") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("health:\n  stale_after_intervals: 1\n", file: "c.yaml") }
    }

    @Test func reportAndAReconcileThatChangedSomethingRefreshTheDashboard() async throws {
        let dir = TempDir()
        let page = dir.file("state/reports/dashboard.html")
        _ = await (try runner(dir, atMs: Self.t0)).run(.reconcile) { _ in StepReport(outcome: "nothing_to_do", message: "in agreement") }
        #expect(!FileManager.default.fileExists(atPath: page), "nothing changed, nothing to redraw")
        _ = await (try runner(dir, atMs: Self.t0)).run(.reconcile) { _ in StepReport(outcome: "ok", message: "booked 1 ledger entry") }
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("<section id=\"health\""))
        try FileManager.default.removeItem(atPath: page)
        _ = await (try runner(dir, atMs: Self.t0)).run(.report) { _ in StepReport(message: "report") }
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("no scorecard yet"))
        #expect(!html.contains("<script"))
    }

    @Test func theScorecardPanelShowsWhateverScorecardTableExists() throws {
        let db = try GobotDatabase.inMemory()
        var config = GobotConfig()
        config.emergency.killSwitchFile = "/nonexistent/kill"
        let paths = StepPaths(stateDir: "/nonexistent")
        #expect(try Dashboard.html(db, config: config, paths: paths, nowMs: Self.t0).contains("no scorecard yet"))
        try db.write { db in
            try db.execute(sql: "CREATE TABLE analyst_scorecard (label TEXT, trades INTEGER, win_rate TEXT)")
            try db.execute(sql: "INSERT INTO analyst_scorecard VALUES ('trend-follow <long>', 12, '0.42')")
        }
        let html = try Dashboard.html(db, config: config, paths: paths, nowMs: Self.t0)
        #expect(html.contains("<td>trend-follow &lt;long&gt;</td><td>12</td><td>0.42</td>"))
        #expect(!html.contains("no scorecard yet"))
    }
}
