import Foundation
import GobotCore
import GobotStore

/// Writes the Prometheus textfile-collector file: to a temp file first, then rename, so
/// node_exporter never reads half a file.
public enum MetricsFile {
    public static func write(db: GobotDatabase, path: String, nowMs: Int64, extra: [String] = []) throws {
        var lines = [
            "# HELP gobot_step_last_run_timestamp_seconds When each step last finished.",
            "# TYPE gobot_step_last_run_timestamp_seconds gauge",
        ]
        let runs = try db.lastRuns()
        for r in runs {
            lines.append("gobot_step_last_run_timestamp_seconds{step=\"\(r.step)\"} \(Double(r.finishedAtMs ?? r.startedAtMs) / 1000)")
        }
        lines += ["# HELP gobot_step_last_exit_code Exit code of each step's last run.", "# TYPE gobot_step_last_exit_code gauge"]
        for r in runs { lines.append("gobot_step_last_exit_code{step=\"\(r.step)\"} \(r.exitCode ?? -1)") }
        let halted = try db.haltState().halted
        lines += ["# HELP gobot_halted 1 when trading is halted.", "# TYPE gobot_halted gauge", "gobot_halted \(halted ? 1 : 0)"]
        let totals = try db.ledgerTotals(fromMs: 0)
        lines += ["# HELP gobot_realized_pnl_usd Net realized P&L (after fees and funding) since the start.", "# TYPE gobot_realized_pnl_usd gauge",
                  "gobot_realized_pnl_usd \(totals.net.doubleValue)"]
        lines += ["# HELP gobot_open_positions Positions gobot holds.", "# TYPE gobot_open_positions gauge",
                  "gobot_open_positions \(try db.livePositions().count)"]
        let pending = try db.outboxCounts()["pending", default: 0]
        lines += ["# HELP gobot_outbox_pending Telegram messages not yet delivered.", "# TYPE gobot_outbox_pending gauge", "gobot_outbox_pending \(pending)"]
        let cards = SignalScorecard.cards(try db.signalLabels())
        lines += ["# HELP gobot_scorecard_decided Labelled signals that reached target or stop, per analyst model.", "# TYPE gobot_scorecard_decided gauge"]
        lines += cards.map { "gobot_scorecard_decided{model=\"\($0.model)\"} \($0.decided)" }
        lines += ["# HELP gobot_scorecard_hits Labelled signals that reached the target first.", "# TYPE gobot_scorecard_hits gauge"]
        lines += cards.map { "gobot_scorecard_hits{model=\"\($0.model)\"} \($0.hits)" }
        lines += ["# HELP gobot_scorecard_hit_rate_wilson_high Upper end of the hit rate's 95 % Wilson interval.", "# TYPE gobot_scorecard_hit_rate_wilson_high gauge"]
        lines += cards.map { "gobot_scorecard_hit_rate_wilson_high{model=\"\($0.model)\"} \($0.interval.high)" }
        lines += extra
        try writeAtomically(lines.joined(separator: "\n") + "\n", to: path)
    }

    public static func writeAtomically(_ text: String, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = "\(path).tmp.\(ProcessInfo.processInfo.processIdentifier)"
        try text.write(toFile: tmp, atomically: false, encoding: .utf8)
        if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown) }
    }
}
