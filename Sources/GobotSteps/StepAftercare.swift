import Foundation
import GobotCore
import GobotStore

/// What every step does after its body and before its queued messages go out: notice that
/// `trade` or `reconcile` has stopped succeeding (alert once, and once more on recovery), and
/// refresh the dashboard when `report` ran or `reconcile` changed something.
public enum StepAftercare {
    /// Steps whose silence costs money: a stale `reconcile` leaves stops unrepaired, a stale `trade` misses entries.
    static let watched = ["reconcile", "trade"]

    public static func afterStep(_ ctx: StepContext, exit: StepExit, outcome: String) {
        alertOnStaleness(ctx, justSucceeded: exit == .ok ? ctx.step.rawValue : nil)
        if ctx.step == .report || (ctx.step == .reconcile && exit == .ok && outcome == "ok") {
            _ = try? Dashboard.write(ctx.db, config: ctx.config, paths: ctx.paths, nowMs: ctx.nowMs)
        }
    }

    static func key(_ step: String) -> String { "health.stale.\(step)" }

    /// Compares each watched step's health with what was last announced (kept in `kv`), so the
    /// alert goes out once per transition, whichever step happens to notice it.
    static func alertOnStaleness(_ ctx: StepContext, justSucceeded: String?) {
        guard let health = try? StepHealthReader.read(ctx.db, config: ctx.config, nowMs: ctx.nowMs, justSucceeded: justSucceeded) else { return }
        for h in health where watched.contains(h.step) {
            let announced = (try? ctx.db.value(forKey: key(h.step))) == "stale"
            if h.isStale, !announced {
                let since = h.ageSeconds.map { "for \(StepHealth.ageText(seconds: $0))" } ?? "since gobot started"
                Alerts.send(ctx, kind: "stale", key: "stale-\(h.step)-\(ctx.nowMs)",
                            text: "gobot: \(h.step) has not succeeded \(since) (expected every \(h.intervalMinutes) min). "
                                + "Is cron or the systemd timer still running? Check `gobot status` and the \(h.step) log.")
                try? ctx.db.setValue("stale", forKey: key(h.step), atMs: ctx.nowMs)
            } else if !h.isStale, announced {
                Alerts.send(ctx, kind: "stale", key: "recovered-\(h.step)-\(ctx.nowMs)",
                            text: "gobot: \(h.step) is succeeding again (last success \(StepHealth.ageText(seconds: h.ageSeconds ?? 0)) ago).")
                try? ctx.db.setValue("ok", forKey: key(h.step), atMs: ctx.nowMs)
            }
        }
    }
}
