import Foundation
import GobotBuildInfo
import GobotCore
import GobotStore

/// The step bodies, each a function of a ``StepContext``. The CLI and the backtest call these.
public enum Steps {
    public static func halt(_ ctx: StepContext, reason: String, flatten: Bool, actor: String) async throws -> StepReport {
        try ctx.db.setHalted(true, reason: reason, actor: actor, atMs: ctx.nowMs)
        Alerts.send(ctx, kind: "halt", key: "halt-\(ctx.nowMs)", text: "gobot halted by \(actor): \(reason)")
        var message = "halted: \(reason)"
        if flatten {
            let result = try await flattenAll(ctx)
            message += "\n" + result.text
            // Halted but not flat: the operator must act, so the exit says it (1), not only the text.
            if !result.flat { return StepReport(outcome: "halted_not_flat", message: message, exit: .failed) }
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
        var snap = try StatusSnapshot.read(ctx.db, config: ctx.config, nowMs: ctx.nowMs,
                                           killSwitch: StepRunner.killSwitchReason(ctx.config), paths: ctx.paths)
        snap.warnings = HostHealth.warnings(config: ctx.config, paths: ctx.paths, db: ctx.db, nowMs: ctx.nowMs)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            return StepReport(outcome: "ok", message: String(decoding: try enc.encode(snap), as: UTF8.self))
        }
        return StepReport(outcome: "ok", message: snap.text)
    }

    static func statusText(_ ctx: StepContext) throws -> String {
        try StatusSnapshot.read(ctx.db, config: ctx.config, nowMs: ctx.nowMs, killSwitch: StepRunner.killSwitchReason(ctx.config), paths: ctx.paths).text
    }
}

/// What `gobot status` (and a health check) reads; one value for text, JSON and metrics.
public struct StatusSnapshot: Codable, Sendable {
    public struct Position: Codable, Sendable { var symbol: String; var side: String; var quantity: String; var entry: String; var stop: String; var target: String }
    public struct Run: Codable, Sendable { var step: String; var outcome: String; var exitCode: Int?; var finishedAtMs: Int64?; var message: String }
    public var equityUSD: Double
    public var pnlTodayUSD: Double
    public var pnlWeekUSD: Double
    public var openPositions: [Position]
    public var openBreakers: [String]
    public var halted: Bool
    public var haltReason: String?
    public var killSwitch: String?
    public var outboxPending: Int
    public var outboxDead: Int
    public var lastRuns: [Run]
    /// Host problems (clock skew, low disk space), filled by `gobot status`.
    public var warnings: [String] = []
    // Health (ops): what ran, whether each step still succeeds, file modes, dead-man's-switch pings.
    public var version: String = BuildInfo.version
    public var commit: String = BuildInfo.commit
    public var stepHealth: [StepHealth] = []
    public var fileWarnings: [String] = []
    public var pingFailures: Int = 0
    /// The analyst scorecard (Steps+Scorecard.swift).
    public struct ScorecardEntry: Codable, Sendable {
        var model: String; var labelled: Int; var hits: Int; var misses: Int; var expired: Int
        /// Signals the exchange never had candles for: counted, not judged.
        var unavailable: Int
        var hitRate: Double; var wilsonLow: Double; var wilsonHigh: Double; var breakEvenHitRate: Double
        var expectancyR: Double; var costUSD: Double; var costPerSignalUSD: Double
        /// Hit rate by the answer's stated `timeframe_agreement` ("not stated" for the rules analyst).
        var byTimeframeAgreement: [AgreementEntry] = []
    }
    public struct AgreementEntry: Codable, Sendable {
        var agreement: String; var labelled: Int; var decided: Int; var hits: Int; var wilsonLow: Double; var wilsonHigh: Double
    }
    public var scorecard: [ScorecardEntry] = []
    public var analyst: AnalystUsage? = nil

    public static func read(_ db: GobotDatabase, config: GobotConfig, nowMs: Int64, killSwitch: String?, paths: StepPaths? = nil) throws -> StatusSnapshot {
        let halt = try db.haltState()
        let outbox = try db.outboxCounts()
        var snap = StatusSnapshot(
            equityUSD: (config.trading.initialCapitalUSD + (try db.ledgerTotals(fromMs: 0)).net).doubleValue,
            pnlTodayUSD: try db.ledgerTotals(fromMs: TradingCalendar.startOfDay(nowMs)).net.doubleValue,
            pnlWeekUSD: try db.ledgerTotals(fromMs: TradingCalendar.startOfWeek(nowMs)).net.doubleValue,
            openPositions: try db.livePositions().map {
                Position(symbol: $0.symbol, side: $0.side.rawValue, quantity: $0.quantity.plainString, entry: $0.entryPrice.plainString,
                         stop: $0.stopPrice.plainString, target: $0.targetPrice.plainString)
            },
            openBreakers: try db.allBreakers().filter { $0.isOpen(atMs: nowMs) }.map { "\($0.name): \($0.reason)" },
            halted: halt.halted || killSwitch != nil, haltReason: halt.halted ? halt.reason : nil, killSwitch: killSwitch,
            outboxPending: outbox["pending", default: 0], outboxDead: outbox["dead", default: 0],
            lastRuns: try db.lastRuns().filter { $0.step != "status" }.map {
                Run(step: $0.step, outcome: $0.outcome, exitCode: $0.exitCode, finishedAtMs: $0.finishedAtMs, message: String($0.message.prefix(200)))
            })
        snap.stepHealth = try StepHealthReader.read(db, config: config, nowMs: nowMs)
        snap.fileWarnings = paths.map { StateFileModes.warnings(stateDir: $0.stateDir, database: $0.database) } ?? []
        snap.pingFailures = HealthPing.failureCount(db)
        snap.scorecard = try Steps.scorecardEntries(db, config: config)
        snap.analyst = try AnalystUsage.read(db, nowMs: nowMs)
        return snap
    }

    public var text: String {
        // One statement each: as a single `+` of literals with `??` chains this getter took the
        // type checker 71 s, most of a clean build.
        var lines: [String] = warnings.map { "WARNING: \($0)" }
        lines.append(String(format: "equity: %.2f USD, P&L today %+.2f USD, this week %+.2f USD", equityUSD, pnlTodayUSD, pnlWeekUSD))
        let haltedWhy: String? = killSwitch ?? haltReason
        lines.append("halted: " + (haltedWhy.map { "yes (\($0))" } ?? "no"))
        lines.append("breakers open: " + (openBreakers.isEmpty ? "none" : openBreakers.joined(separator: "; ")))
        lines.append("open positions: \(openPositions.count)")
        for p in openPositions { lines.append("  \(p.side) \(p.symbol) qty \(p.quantity) @ \(p.entry), stop \(p.stop), target \(p.target)") }
        lines.append("telegram outbox: \(outboxPending) pending, \(outboxDead) undeliverable")
        if let analyst { lines.append(analyst.text) }
        for s in scorecard {
            lines.append(String(format: "scorecard %@: %d labelled, hit rate %.1f %% (95 %% Wilson %.1f–%.1f %%, n = %d) vs break-even %.1f %%, %+.3f R, cost %.4f USD",
                                s.model, s.labelled, s.hitRate * 100, s.wilsonLow * 100, s.wilsonHigh * 100, s.hits + s.misses, s.breakEvenHitRate * 100,
                                s.expectancyR, s.costUSD))
        }
        for r in lastRuns {
            lines.append("last \(r.step): \(r.outcome) exit \(r.exitCode.map(String.init) ?? "-") \(r.message.split(separator: "\n").first ?? "")")
        }
        lines += healthLines
        return lines.joined(separator: "\n")
    }
}

extension StatusSnapshot {
    /// Step health (STALE past health.stale_after_intervals), file-mode warnings and the build.
    var healthLines: [String] {
        var lines = ["step health:"] + stepHealth.map { "  " + $0.line }
        if pingFailures > 0 { lines.append("health pings: \(pingFailures) could not be delivered") }
        lines += fileWarnings.map { "warning: " + $0 }
        lines.append("build: gobot \(version) (commit \(commit))")
        return lines
    }
}
