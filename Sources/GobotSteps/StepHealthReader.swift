import Foundation
import GobotBuildInfo
import GobotCore
import GobotStore

/// Reads each scheduled step's health from the `runs` table.
public enum StepHealthReader {
    /// - Parameter justSucceeded: a step that is finishing now with exit 0 but is not recorded yet.
    public static func read(_ db: GobotDatabase, config: GobotConfig, nowMs: Int64, justSucceeded: String? = nil) throws -> [StepHealth] {
        var last = try db.lastSuccessMs()
        if let step = justSucceeded { last[step] = nowMs }
        let first = try db.firstRunMs()
        return config.health.expectedIntervals(telegramEnabled: config.telegram.enabled).map {
            StepHealth.evaluate(step: $0.step, intervalMinutes: $0.minutes, staleAfterIntervals: config.health.staleAfterIntervals,
                                lastSuccessMs: last[$0.step], firstRunMs: first, nowMs: nowMs)
        }
    }

    /// Prometheus lines: age of each step's last success, its expected interval and a stale flag.
    public static func metricLines(_ health: [StepHealth], pingFailures: Int) -> [String] {
        var lines = ["# HELP gobot_step_last_success_age_seconds Seconds since each step last succeeded (-1: never).",
                     "# TYPE gobot_step_last_success_age_seconds gauge"]
        for h in health { lines.append("gobot_step_last_success_age_seconds{step=\"\(h.step)\"} \(h.ageSeconds ?? -1)") }
        lines += ["# HELP gobot_step_expected_interval_seconds How often each step should succeed (health.*_interval_minutes).",
                  "# TYPE gobot_step_expected_interval_seconds gauge"]
        for h in health { lines.append("gobot_step_expected_interval_seconds{step=\"\(h.step)\"} \(h.intervalMinutes * 60)") }
        lines += ["# HELP gobot_step_stale 1 when a step has not succeeded for health.stale_after_intervals intervals.",
                  "# TYPE gobot_step_stale gauge"]
        for h in health { lines.append("gobot_step_stale{step=\"\(h.step)\"} \(h.isStale ? 1 : 0)") }
        lines += ["# HELP gobot_health_ping_failures_total Dead-man's-switch pings that could not be delivered.",
                  "# TYPE gobot_health_ping_failures_total counter", "gobot_health_ping_failures_total \(pingFailures)"]
        lines += ["# HELP gobot_build_info The version and git commit of the running binary.", "# TYPE gobot_build_info gauge",
                  "gobot_build_info{version=\"\(BuildInfo.version)\",commit=\"\(BuildInfo.commit)\"} 1"]
        return lines
    }

    /// All health figures for the metrics file, or none if the database cannot say.
    public static func metricLines(_ db: GobotDatabase, config: GobotConfig, nowMs: Int64) -> [String] {
        guard let health = try? read(db, config: config, nowMs: nowMs) else { return [] }
        return metricLines(health, pingFailures: HealthPing.failureCount(db))
    }
}
