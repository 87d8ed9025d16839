import Foundation

/// Whether one cron step is still succeeding as often as it should.
///
/// The classic failure of a cron-shaped system is the job that silently stops running; this is
/// the value `status`, metrics, `/healthz`, the dashboard and the stale alert all read.
public struct StepHealth: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Succeeded within `staleAfterIntervals` intervals.
        case ok
        /// Last success (or, never having succeeded, the first run of any step) is older than that.
        case stale = "STALE"
        /// Never succeeded, but gobot has not been running long enough for that to be late.
        case waiting
    }

    public var step: String
    public var intervalMinutes: Int
    public var lastSuccessMs: Int64?
    /// Seconds since the last success; nil when it never succeeded.
    public var ageSeconds: Int64?
    public var state: State

    public var isStale: Bool { state == .stale }

    /// - Parameters:
    ///   - firstRunMs: when any step first started (nil: nothing ever ran, so nothing is late yet).
    public static func evaluate(step: String, intervalMinutes: Int, staleAfterIntervals: Int, lastSuccessMs: Int64?,
                                firstRunMs: Int64?, nowMs: Int64) -> StepHealth {
        let limitMs = Int64(intervalMinutes) * 60_000 * Int64(staleAfterIntervals)
        let state: State
        if let last = lastSuccessMs {
            state = nowMs - last > limitMs ? .stale : .ok
        } else if let first = firstRunMs, nowMs - first > limitMs {
            state = .stale
        } else {
            state = .waiting
        }
        return StepHealth(step: step, intervalMinutes: intervalMinutes, lastSuccessMs: lastSuccessMs,
                          ageSeconds: lastSuccessMs.map { max(0, (nowMs - $0) / 1000) }, state: state)
    }

    /// "4m", "2h10m", "3d4h": short enough for a status line.
    public static func ageText(seconds: Int64) -> String {
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86_400: return "\(seconds / 3600)h\(seconds % 3600 / 60)m"
        default: return "\(seconds / 86_400)d\(seconds % 86_400 / 3600)h"
        }
    }

    /// `reconcile  ok     last success 1m ago (expected every 2m)`
    public var line: String {
        let age = ageSeconds.map { "last success \(Self.ageText(seconds: $0)) ago" } ?? "never succeeded"
        return "\(step.padding(toLength: 10, withPad: " ", startingAt: 0)) \(state.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(age) (expected every \(Self.ageText(seconds: Int64(intervalMinutes) * 60)))"
    }
}

extension GobotConfig.Health {
    /// The steps cron runs on a schedule and how often each should succeed.
    public func expectedIntervals(telegramEnabled: Bool) -> [(step: String, minutes: Int)] {
        var out = [("scan", scanIntervalMinutes), ("analyze", analyzeIntervalMinutes), ("trade", tradeIntervalMinutes),
                   ("reconcile", reconcileIntervalMinutes), ("report", reportIntervalMinutes)]
        if telegramEnabled { out.append(("telegram", telegramIntervalMinutes)) }
        return out.map { (step: $0.0, minutes: $0.1) }
    }
}
