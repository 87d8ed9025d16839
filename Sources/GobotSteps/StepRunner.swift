import Foundation
import GobotCore
import GobotStore
import Notify

/// The common start-up every step goes through, so no command can skip a check:
/// load config → open state → take the step's lock → kill switch and halt flag → run →
/// record the run → exit code.
public struct StepRunner: Sendable {
    public var configPath: String
    public var stateDirOverride: String?
    public var environment: [String: String]
    public var clock: any WallClock
    /// Builds the exchange and analyst for a step; tests swap in fakes, the CLI uses ``LiveServices``.
    public var makeServices: ServiceFactory
    /// Set by the CLI's SIGTERM/SIGINT handler; the step sees it as ``StepContext/stop``.
    public var stop: StopSignal = StopSignal()
    /// How long a step may keep running after a stop request before the run is recorded as
    /// `terminated` and ``forceExit`` is called (systemd sends SIGKILL after `TimeoutStopSec`, 90 s).
    /// Longer than the worst protect path after an entry (clock sync, entry, three look-ups, the
    /// stop: about 60 s at 10 s request timeouts) and shorter than systemd's TimeoutStopSec (90 s).
    public var stopGraceSeconds: Double = 75
    /// Ends the process when a stopped step overruns its grace; nil (tests) waits for the step.
    public var forceExit: (@Sendable (Result) -> Void)?

    public typealias ServiceFactory = @Sendable (GobotConfig, GobotDatabase, Secrets, any WallClock) throws -> StepServices

    public init(configPath: String, stateDirOverride: String? = nil, environment: [String: String], clock: any WallClock = SystemClock(),
                makeServices: @escaping ServiceFactory = LiveServices.make) {
        self.configPath = configPath
        self.stateDirOverride = stateDirOverride
        self.environment = environment
        self.clock = clock
        self.makeServices = makeServices
    }

    /// The result of one run: the code to exit with and the line to print.
    public struct Result: Sendable, Equatable {
        public var exit: StepExit
        public var outcome: String
        public var message: String
    }

    public func loadConfig() throws(ConfigError) -> GobotConfig {
        try ConfigLoader.load(path: configPath)
    }

    public func paths(for config: GobotConfig) -> StepPaths {
        StepPaths(stateDir: stateDirOverride ?? config.state.dir)
    }

    public func run(_ step: StepName, body: @Sendable (StepContext) async throws -> StepReport) async -> Result {
        let config: GobotConfig
        do {
            config = try loadConfig()
        } catch {
            return Result(exit: .badConfig, outcome: "bad_config", message: error.description)
        }
        let paths = paths(for: config)
        let secrets = Secrets(environment: environment)
        do {
            try paths.createDirectories()
        } catch {
            let e = StateDatabaseError.classify(error, path: paths.stateDir)
            return Result(exit: e.stepExit, outcome: "failed", message: "gobot \(step.rawValue): cannot create the state directory \(paths.stateDir): \(e)")
        }

        var locks: [FileLock] = []
        do {
            locks.append(try FileLock.acquire(path: paths.lock(step.rawValue)))
            if step == .trade || step == .reconcile || step == .flatten {
                locks.append(try FileLock.acquire(path: paths.lock("account")))
            }
        } catch {
            return Result(exit: error.stepExit, outcome: error.stepExit == .tryLater ? "busy" : "failed", message: "gobot \(step.rawValue): \(error.description)")
        }
        defer { locks.forEach { $0.release() } }

        let db: GobotDatabase
        do {
            db = try GobotDatabase.open(path: paths.database)
        } catch {
            return await refuse("gobot \(step.rawValue)", error, paths: paths, config: config, secrets: secrets)
        }
        let startedMs = clock.nowMs()
        let runId: Int64
        do {
            runId = try db.startRun(step: step.rawValue, atMs: startedMs)
        } catch {
            let e = StateDatabaseError.classify(error, path: paths.database)
            return Result(exit: e.stepExit, outcome: e.stepExit == .tryLater ? "busy" : "failed",
                          message: "gobot \(step.rawValue): cannot record the run: \(e)")
        }
        // The file passed its check: the first step of a UTC day copies it aside.
        var backupNote: String?
        do {
            try StateBackup.takeIfDue(db: db, paths: paths, keep: config.state.backupKeep, nowMs: startedMs)
        } catch {
            backupNote = "daily backup of \(paths.database) failed: \(error)"
            _ = try? db.enqueue(channel: "telegram", kind: "error", payload: TelegramClient.escapeHTML("⚠️ \(backupNote!)"),
                                dedupeKey: "backup-\(TradingCalendar.dayString(startedMs))", atMs: startedMs)
        }
        let services: StepServices
        do {
            services = try makeServices(config, db, secrets, clock)
        } catch {
            let r = Result(exit: .badConfig, outcome: "bad_config", message: secrets.scrub("gobot \(step.rawValue): \(error)"))
            try? db.finishRun(id: runId, atMs: clock.nowMs(), outcome: r.outcome, exitCode: r.exit.rawValue, message: r.message)
            return r
        }
        var context = StepContext(config: config, db: db, paths: paths, clock: clock, secrets: secrets, step: step,
                                  exchange: services.exchange, analyst: services.analyst, telegram: services.telegram)
        context.stop = stop
        let finished = RunFinish()
        watchForOverrun(step, runId: runId, db: db, finished: finished)

        let ping = HealthPing.make(config: config, step: step), pingStarted = ping?.start(db: db)
        var result: Result
        // A halt flag that cannot be read stops the step too, but as a failure that alerts.
        let halt = step.opensRisk ? Swift.Result { try haltReason(config: config, db: db) } : .success(nil)
        if stop.isRequested {
            result = Result(exit: .terminated, outcome: "terminated", message: "gobot \(step.rawValue): \(stop.signalName) received before the step began; nothing done")
        } else if case .failure(let error) = halt {
            result = Self.haltUnreadable(step, error, path: paths.database)
        } else if case .success(let reason?) = halt {
            result = Result(exit: .ok, outcome: "halted", message: "gobot \(step.rawValue): halted, not run: \(reason)")
        } else {
            do {
                let report = try await body(context)
                result = Result(exit: report.exit, outcome: report.outcome, message: report.message)
            } catch let error as any ExitCodeProviding {
                result = Result(exit: error.stepExit, outcome: error.stepExit == .tryLater ? "try_later" : "failed",
                                message: secrets.scrub("gobot \(step.rawValue): \(error)"))
            } catch {
                result = Result(exit: .failed, outcome: "failed", message: secrets.scrub("gobot \(step.rawValue): \(error)"))
            }
            if stop.isRequested {
                // One line: what the step got done before it stopped.
                let done = result.message.split(separator: "\n").first.map(String.init) ?? ""
                result = Result(exit: .terminated, outcome: "terminated",
                                message: "gobot \(step.rawValue): stopped by \(stop.signalName), no new entries; \(done)")
            }
        }
        if let backupNote { result.message += "\nwarning: \(backupNote)" }
        guard finished.claim() else {
            // The overrun watchdog already recorded the run and is ending the process.
            try? await Task.sleep(nanoseconds: 60_000_000_000)
            return result
        }
        StepAftercare.afterStep(context, exit: result.exit, outcome: result.outcome)
        // Whatever the step queued (and anything an earlier run could not send) goes out now,
        // unless asked to stop: the outbox keeps it for the next run.
        if !stop.isRequested { await OutboxSender.flush(context) }
        try? db.finishRun(id: runId, atMs: clock.nowMs(), outcome: result.outcome, exitCode: result.exit.rawValue, message: result.message)
        try? MetricsFile.write(db: db, path: paths.metricsFile, nowMs: clock.nowMs(),
                               extra: StepHealthReader.metricLines(db, config: config, nowMs: clock.nowMs()))
        await ping?.finish(exit: result.exit, message: result.message, started: pingStarted, db: db)
        return result
    }

    /// A database that cannot be used: exit without touching it, and say what to do.
    /// Commands that open the database outside ``run(_:body:)`` (`audit verify`, `init`) use it too.
    public func refuse(_ label: String, _ error: StateDatabaseError, paths: StepPaths, config: GobotConfig, secrets: Secrets) async -> Result {
        guard case .damaged = error else {
            return Result(exit: error.stepExit, outcome: error.stepExit == .tryLater ? "busy" : "failed", message: "\(label): \(error)")
        }
        let newest = StateBackup.existing(paths).first
        let restore = newest.map { "restore the newest backup \($0)" } ?? "restore a backup (none found in \(StateBackup.directory(paths)))"
        let text = "\(label): \(error). gobot will not read or write it. Stop the gobot timers, move the damaged file aside "
            + "(keep it for inspection), \(restore) as described in README \"Restoring the state database\", then run `gobot reconcile`."
        let channel = await DamageAlert.send(text, config: config, secrets: secrets, marker: "\(paths.stateDir)/damage-alert-sent")
        return Result(exit: .failed, outcome: "failed", message: "\(text) (\(channel))")
    }

    /// After a stop request, gives the step ``stopGraceSeconds`` to finish; past that, records
    /// the run as `terminated` and calls ``forceExit``, so a hung step is not left `running`.
    func watchForOverrun(_ step: StepName, runId: Int64, db: GobotDatabase, finished: RunFinish) {
        guard let forceExit else { return }
        let grace = stopGraceSeconds, stop = self.stop, clock = self.clock
        stop.onRequest { _ in
            DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
                guard finished.claim() else { return }
                let r = Result(exit: .terminated, outcome: "terminated",
                               message: "gobot \(step.rawValue): stopped by \(stop.signalName); the step did not finish within \(String(format: "%g", grace)) s and was cut short (reconcile repairs what was left half-done)")
                try? db.finishRun(id: runId, atMs: clock.nowMs(), outcome: r.outcome, exitCode: r.exit.rawValue, message: r.message)
                forceExit(r)
            }
        }
    }

    /// Why steps that open risk must not run now, or nil when they may. A halt flag that cannot
    /// be read throws: it is not "running".
    public func haltReason(config: GobotConfig, db: GobotDatabase) throws -> String? {
        if let reason = Self.killSwitchReason(config) { return reason }
        let halt = try db.haltState()
        return halt.halted ? "halted by \(halt.actor): \(halt.reason) (run `gobot resume`)" : nil
    }

    /// A step not run on a halt flag it could not read. A flag that could not be read because
    /// another process held the database past the busy timeout is "try later" (75, no failure
    /// alert); damage or anything else is a failure (1) that alerts.
    static func haltUnreadable(_ step: StepName, _ error: any Error, path: String) -> Result {
        if case .busy = StateDatabaseError.classify(error, path: path) {
            return Result(exit: .tryLater, outcome: "busy", message: "gobot \(step.rawValue): not run: the halt flag cannot be read now (\(error)); try again later")
        }
        return Result(exit: .failed, outcome: "failed", message: "gobot \(step.rawValue): not run: the halt flag cannot be read (\(error))")
    }

    public static func killSwitchReason(_ config: GobotConfig) -> String? {
        if config.emergency.killSwitchEnabled, FileManager.default.fileExists(atPath: config.emergency.killSwitchFile) {
            return "kill switch file \(config.emergency.killSwitchFile) is present (remove it to resume)"
        }
        return nil
    }
}

/// Who records the end of a run: the step, or the overrun watchdog, never both.
final class RunFinish: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false

    func claim() -> Bool {
        lock.withLock {
            if claimed { return false }
            claimed = true
            return true
        }
    }
}
