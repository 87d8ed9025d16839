import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import GobotCore
import GobotStore
import GobotSteps

extension Gobot {
    struct DashboardCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dashboard",
            abstract: "Write the one-page HTML dashboard, or serve it read-only on 127.0.0.1 with /healthz.",
            discussion: """
                Without --serve, writes state/reports/dashboard.html (or --out). With --serve PORT, answers \
                GET / with the page built fresh from the database and GET /healthz with 200 when no step is \
                STALE, 503 otherwise (for an uptime monitor). Port 0 picks a free port and prints it.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Where to write the page (default: <state>/reports/dashboard.html).") var out: String?
        @Option(help: "Serve the page and /healthz on 127.0.0.1:PORT instead of writing a file.") var serve: UInt16?

        func run() async throws {
            let (runner, config) = try global.loadConfig()
            let paths = runner.paths(for: config)
            try paths.createDirectories()
            let db = try GobotDatabase.open(path: paths.database)
            let clock = runner.clock
            guard let port = serve else {
                print(try Dashboard.write(db, config: config, paths: paths, nowMs: clock.nowMs(), to: out))
                return
            }
            let server = HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: port), timeout: 30)
            await server.appendRoute("*") { request in
                DashboardServer.answer(request, db: db, config: config, paths: paths, nowMs: clock.nowMs())
            }
            let task = Task { try await server.run() }
            try await server.waitUntilListening()
            guard case .ip4(_, let bound) = await server.listeningAddress else { throw Terminal.fail("cannot read the listening port", code: 1) }
            FileHandle.standardOutput.write(Data("serving http://127.0.0.1:\(bound)/ (read-only; /healthz for uptime monitors)\n".utf8))
            try await task.value
        }
    }
}

/// The read-only routes of `dashboard --serve`.
enum DashboardServer {
    static func answer(_ request: HTTPRequest, db: GobotDatabase, config: GobotConfig, paths: StepPaths, nowMs: Int64) -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return text(405, "read-only: only GET and HEAD\n")
        }
        switch request.path {
        case "/", "/index.html", "/dashboard":
            do {
                let html = try Dashboard.html(db, config: config, paths: paths, nowMs: nowMs)
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8", HTTPHeader("Cache-Control"): "no-store"],
                                    body: Data(html.utf8))
            } catch {
                return text(500, "cannot read the state database: \(error)\n")
            }
        case "/healthz":
            guard let health = try? StepHealthReader.read(db, config: config, nowMs: nowMs) else {
                return text(503, "cannot read the state database\n")
            }
            let stale = health.filter(\.isStale)
            let body = (stale.isEmpty ? "ok\n" : "STALE: \(stale.map(\.step).joined(separator: ", "))\n") + health.map(\.line).joined(separator: "\n") + "\n"
            return text(stale.isEmpty ? 200 : 503, body)
        default:
            return text(404, "not found; try / or /healthz\n")
        }
    }

    static func text(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: HTTPStatusCode(status, phrase: status == 200 ? "OK" : "Status"),
                     headers: [.contentType: "text/plain; charset=utf-8", HTTPHeader("Cache-Control"): "no-store"], body: Data(body.utf8))
    }
}
