import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GobotBuildInfo
import Testing

/// The dashboard as an operator sees it: written by the real binary from a real paper-trading
/// database, loaded in headless Chromium, and served with /healthz.
///
/// An extension of the serialized ``BinaryTests``: these tests block a thread while a child
/// process runs, and two such suites side by side would starve the 2-core cooperative pool that
/// the loopback fakes of other tests answer on.
extension BinaryTests {
    /// Headless Chromium, or nil (then the caller skips, except in CI, where `.ci/run` installs it).
    static func chromium() -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    static func requireChromium() -> String? {
        if let path = chromium() { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("chromium is not installed: .ci/run installs Debian's chromium for this test")
        } else {
            print("dashboard browser tests: SKIPPED: no chromium in PATH (apt-get install chromium); CI=true makes this a failure")
        }
        return nil
    }

    struct Browser { var dom: String; var log: String }

    /// Loads a file in headless Chromium: the DOM after load, and its log (console messages and
    /// failed loads appear there with --enable-logging=stderr).
    static func load(_ chromium: String, file: String, dir: String, screenshot: String? = nil) throws -> Browser {
        var args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                    "--user-data-dir=\(dir)/chromium-profile", "--enable-logging=stderr", "--v=0", "--window-size=1400,2200"]
        args.append(screenshot.map { "--screenshot=\($0)" } ?? "--dump-dom")
        args.append(URL(fileURLWithPath: file).absoluteString)
        let r = try BinaryTests.run(chromium, args)
        return Browser(dom: r.stdout, log: r.stderr)
    }

    /// Console messages, uncaught errors and failed resource loads in a Chromium log.
    static func pageErrors(_ log: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("net::ERR_") || $0.contains("Uncaught") }
    }

    /// Paper trading on the bundled candles until a position is open, as cron would run it.
    static func tradingDirectory() throws -> (dir: String, nowMs: Int64) {
        let dir = try BinaryTests.workdir()
        let config = "\(dir)/config/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "environment: paper             # paper | demo | live",
                                  with: "environment: paper\n  paper_data_dir: \(BinaryTests.root.path)/sample-data")
            .replacingOccurrences(of: "symbols: [BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT, XRPUSDT]", with: "symbols: [XRPUSDT, BNBUSDT]")
            .replacingOccurrences(of: "stop_loss_percent: 2.0", with: "stop_loss_percent: 0.5")
            // Round entry prices: the expectations below name them.
            .replacingOccurrences(of: "slippage_bps: 2 ", with: "slippage_bps: 0 ")
            .replacingOccurrences(of: "take_profit_percent: 4.0", with: "take_profit_percent: 1.0")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        var t: Int64 = 1_747_728_000_000  // 2025-05-20 08:00 UTC
        for _ in 0..<2 {
            for step in ["scan", "analyze", "trade", "reconcile"] {
                let r = try BinaryTests.gobot([step], cwd: dir, env: ["GOBOT_NOW_MS": String(t)])
                #expect(r.code == 0, "\(step): \(r.stderr)")
            }
            t += 300_000
        }
        return (dir, t)
    }

    @Test func dashboardRendersInHeadlessChromiumWithItsKeyValuesAndNoErrors() throws {
        guard let chromium = Self.requireChromium() else { return }
        let (dir, t) = try Self.tradingDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 20 minutes after the last cycle: every 2- and 5-minute step is past 3 intervals.
        let later = t + 20 * 60_000
        let written = try BinaryTests.gobot(["dashboard", "--out", "\(dir)/dashboard.html"], cwd: dir, env: ["GOBOT_NOW_MS": String(later)])
        #expect(written.code == 0, "\(written.stderr)")
        let html = try String(contentsOfFile: "\(dir)/dashboard.html", encoding: .utf8)
        #expect(!html.contains("<script"), "the page needs no scripts")
        #expect(!html.contains("http://") && !html.contains("https://"), "the page loads nothing from the network")

        let page = try Self.load(chromium, file: "\(dir)/dashboard.html", dir: dir)
        #expect(Self.pageErrors(page.log).isEmpty, "console errors: \(Self.pageErrors(page.log))")
        let dom = page.dom
        #expect(dom.contains("id=\"tile-equity\""))
        #expect(dom.contains("XRPUSDT</td><td>short</td><td>4.2</td><td>2.3459</td>"), "the open position with its entry")
        #expect(dom.contains("2.3576 ("), "the stop with its distance")
        #expect(dom.contains("2.3224 ("), "the target with its distance")
        #expect(dom.contains("<span class=\"state stale\">STALE</span>"))
        #expect(dom.contains("trades today</span>") && dom.contains("1 / 3"))
        #expect(dom.contains("no scorecard yet"))
        #expect(dom.contains("commit \(BuildInfo.commit)"))
        #expect(dom.contains("data:image/png;base64,"), "chart thumbnails are inline")
        #expect(dom.contains("outcome: position open"))
        #expect(dom.contains("1 pending"), "the Telegram outbox")

        let shot = "\(dir)/dashboard.png"
        let render = try Self.load(chromium, file: "\(dir)/dashboard.html", dir: dir, screenshot: shot)
        #expect(Self.pageErrors(render.log).isEmpty)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 50_000, "a rendered page, not a blank one: \(png.count) bytes")
        // Keep a copy for a human to look at when asked to.
        if let keep = ProcessInfo.processInfo.environment["GOBOT_KEEP_SCREENSHOT"] { try? png.write(to: URL(fileURLWithPath: keep)) }
    }

    /// The console check must be able to fail: a page with a script error is caught.
    @Test func theConsoleCheckCatchesAScriptError() throws {
        guard let chromium = Self.requireChromium() else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gobot-chromium-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "<!doctype html><p>x</p><script>notDefined()</script>".write(toFile: "\(dir)/bad.html", atomically: true, encoding: .utf8)
        let page = try Self.load(chromium, file: "\(dir)/bad.html", dir: dir)
        #expect(Self.pageErrors(page.log).contains { $0.contains("notDefined is not defined") })
    }

    static func get(_ url: String, method: String = "GET") async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Starts `gobot dashboard --serve 0` at a fixed clock and returns it with its base URL.
    static func serve(dir: String, nowMs: Int64) throws -> (Process, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BinaryTests.binary)
        p.arguments = ["dashboard", "--serve", "0"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var env = ProcessInfo.processInfo.environment
        env["GOBOT_NOW_MS"] = String(nowMs)
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = line.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else {
            p.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no address in: \(line)"])
        }
        return (p, String(line[range]))
    }

    @Test func serveAnswersThePageAndHealthzReadOnly() async throws {
        let dir = try BinaryTests.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0: Int64 = 1_747_728_000_000
        #expect(try BinaryTests.gobot(["halt", "--reason", "drill"], cwd: dir, env: ["GOBOT_NOW_MS": String(t0)]).code == 0)

        // Just started: nothing is late yet.
        let (fresh, url) = try Self.serve(dir: dir, nowMs: t0 + 60_000)
        defer { fresh.terminate(); fresh.waitUntilExit() }
        let healthy = try await Self.get("\(url)/healthz")
        #expect(healthy.status == 200)
        #expect(healthy.body.hasPrefix("ok\n"))
        let page = try await Self.get("\(url)/")
        #expect(page.status == 200)
        #expect(page.body.contains("Step health") && page.body.contains("HALTED"))
        #expect(try await Self.get("\(url)/", method: "POST").status == 405)
        #expect(try await Self.get("\(url)/state/gobot.sqlite").status == 404)

        // Three days on, with no step ever succeeding: 503 for the uptime monitor.
        let (late, lateURL) = try Self.serve(dir: dir, nowMs: t0 + 3 * 86_400_000 + 60_000)
        defer { late.terminate(); late.waitUntilExit() }
        let stale = try await Self.get("\(lateURL)/healthz")
        #expect(stale.status == 503)
        #expect(stale.body.hasPrefix("STALE: scan, analyze, trade, reconcile, report"))
    }

    @Test func versionNamesTheBuildCommit() throws {
        let r = try BinaryTests.gobot(["--version"], cwd: FileManager.default.temporaryDirectory.path)
        #expect(r.code == 0)
        #expect(r.stdout == "gobot \(BuildInfo.version) (commit \(BuildInfo.commit))\n")
        #expect(BuildInfo.commit != "", "the build plugin wrote a commit (or 'unknown')")
    }
}
