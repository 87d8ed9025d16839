import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GRDB

/// Dead-man's-switch pings in healthchecks.io's conventions: `<url>/start` when a step starts,
/// `<url>` when it succeeds (exit 0, or 75 "try later"), `<url>/fail` with the exit code in the
/// body when it fails. If cron stops, the pings stop, and the monitoring service alerts.
///
/// A ping never blocks or changes a step: the start ping runs alongside the step, the final
/// ping is sent after it with a short timeout, and a failure is only counted (`status`, metrics).
public struct HealthPing: Sendable {
    public static let failuresKey = "health.ping_failures"

    let baseURL: String
    let runId: String
    let transport: any HTTPTransport

    /// Nil when `health.ping_url` is not set. `{step}` in the URL becomes the step name, so each
    /// step can have its own check (`https://hc-ping.com/<ping-key>/gobot-{step}`).
    public static func make(config: GobotConfig, step: StepName, transport: (any HTTPTransport)? = nil) -> HealthPing? {
        guard let url = config.health.pingURL else { return nil }
        return HealthPing(baseURL: url.replacingOccurrences(of: "{step}", with: step.rawValue), runId: UUID().uuidString.lowercased(),
                          transport: transport ?? URLSessionTransport(timeoutSeconds: config.health.pingTimeoutSeconds))
    }

    /// Sends `/start` in the background; the step goes on at once.
    public func start(db: GobotDatabase) -> Task<Void, Never> {
        Task { await send(suffix: "/start", body: nil, db: db) }
    }

    /// Waits for the start ping (bounded by the timeout), then reports the outcome.
    public func finish(exit: StepExit, message: String, started: Task<Void, Never>?, db: GobotDatabase) async {
        await started?.value
        if exit == .ok || exit == .tryLater {
            await send(suffix: "", body: nil, db: db)
        } else {
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? ""
            await send(suffix: "/fail", body: "exit \(exit.rawValue): \(firstLine.prefix(500))", db: db)
        }
    }

    /// The URL itself may hold the ping key, so errors name neither it nor the response.
    func send(suffix: String, body: String?, db: GobotDatabase) async {
        let request = HTTPRequestData(method: "POST", url: "\(baseURL)\(suffix)?rid=\(runId)",
                                      headers: ["Content-Type": "text/plain; charset=utf-8"], body: Data((body ?? "").utf8))
        let ok: Bool
        do {
            ok = (200..<300).contains(try await transport.send(request).status)
        } catch {
            ok = false
        }
        if !ok { Self.countFailure(db) }
    }

    static func countFailure(_ db: GobotDatabase) {
        _ = try? db.write { db in
            try db.execute(sql: """
                INSERT INTO kv (key, value, updated_at_ms) VALUES (?, '1', 0)
                ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
                """, arguments: [failuresKey])
        }
    }

    public static func failureCount(_ db: GobotDatabase) -> Int {
        (try? db.value(forKey: failuresKey)).flatMap { $0 }.flatMap { Int($0) } ?? 0
    }
}
