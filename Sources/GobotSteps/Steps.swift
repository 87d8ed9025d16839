import Foundation
import GobotCore
import GobotStore

/// The step bodies, each a function of a ``StepContext``. The CLI and the backtest call these.
public enum Steps {
    public static func halt(_ ctx: StepContext, reason: String, flatten: Bool, actor: String) async throws -> StepReport {
        try ctx.db.setHalted(true, reason: reason, actor: actor, atMs: ctx.nowMs)
        Alerts.send(ctx, kind: "halt", key: "halt-\(ctx.nowMs)", text: "gobot halted by \(actor): \(reason)")
        var message = "halted: \(reason)"
        if flatten {
            message += "\n" + (try await flattenAll(ctx))
        }
        return StepReport(outcome: "halted", message: message)
    }

    public static func resume(_ ctx: StepContext, reason: String, actor: String) throws -> StepReport {
        try ctx.db.setHalted(false, reason: reason, actor: actor, atMs: ctx.nowMs)
        var message = "resumed: \(reason)"
        if ctx.config.emergency.killSwitchEnabled, FileManager.default.fileExists(atPath: ctx.config.emergency.killSwitchFile) {
            message += " (but the kill switch file \(ctx.config.emergency.killSwitchFile) is still present: remove it to trade)"
        }
        return StepReport(outcome: "resumed", message: message)
    }

    public static func status(_ ctx: StepContext, json: Bool) throws -> StepReport {
        let halt = try ctx.db.haltState()
        let runs = try ctx.db.lastRuns()
        var lines = ["halted: \(halt.halted ? "yes (\(halt.reason))" : "no")"]
        for r in runs where r.step != "status" {
            lines.append("last \(r.step): \(r.outcome) exit \(r.exitCode.map(String.init) ?? "-") \(r.message)")
        }
        return StepReport(outcome: "ok", message: lines.joined(separator: "\n"))
    }
}
