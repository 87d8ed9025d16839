import Foundation
import GobotCore
import GobotStore

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
            return Result(exit: .failed, outcome: "failed", message: "cannot create state directory \(paths.stateDir): \(error.localizedDescription)")
        }

        var locks: [FileLock] = []
        do {
            locks.append(try FileLock.acquire(path: paths.lock(step.rawValue)))
            if step == .trade || step == .reconcile || step == .halt {
                locks.append(try FileLock.acquire(path: paths.lock("account")))
            }
        } catch {
            return Result(exit: .tryLater, outcome: "busy", message: "gobot \(step.rawValue): \(error.description)")
        }
        defer { locks.forEach { $0.release() } }

        let db: GobotDatabase
        do {
            db = try GobotDatabase.open(path: paths.database)
        } catch {
            return Result(exit: .failed, outcome: "failed", message: "cannot open state database \(paths.database): \(error)")
        }
        let startedMs = clock.nowMs()
        let runId: Int64
        do {
            runId = try db.startRun(step: step.rawValue, atMs: startedMs)
        } catch {
            return Result(exit: .tryLater, outcome: "busy", message: "cannot record the run in \(paths.database): \(error)")
        }
        let services: StepServices
        do {
            services = try makeServices(config, db, secrets, clock)
        } catch {
            let r = Result(exit: .badConfig, outcome: "bad_config", message: secrets.scrub("gobot \(step.rawValue): \(error)"))
            try? db.finishRun(id: runId, atMs: clock.nowMs(), outcome: r.outcome, exitCode: r.exit.rawValue, message: r.message)
            return r
        }
        let context = StepContext(config: config, db: db, paths: paths, clock: clock, secrets: secrets, step: step,
                                  exchange: services.exchange, analyst: services.analyst, telegram: services.telegram)

        let ping = HealthPing.make(config: config, step: step), pingStarted = ping?.start(db: db)
        let result: Result
        if step.opensRisk, let reason = haltReason(config: config, db: db) {
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
        }
        StepAftercare.afterStep(context, exit: result.exit, outcome: result.outcome)
        // Whatever the step queued (and anything an earlier run could not send) goes out now.
        await OutboxSender.flush(context)
        try? db.finishRun(id: runId, atMs: clock.nowMs(), outcome: result.outcome, exitCode: result.exit.rawValue, message: result.message)
        try? MetricsFile.write(db: db, path: paths.metricsFile, nowMs: clock.nowMs(),
                               extra: StepHealthReader.metricLines(db, config: config, nowMs: clock.nowMs()))
        await ping?.finish(exit: result.exit, message: result.message, started: pingStarted, db: db)
        return result
    }

    /// Why steps that open risk must not run now, or nil when they may.
    public func haltReason(config: GobotConfig, db: GobotDatabase) -> String? {
        if let reason = Self.killSwitchReason(config) { return reason }
        if let halt = try? db.haltState(), halt.halted {
            return "halted by \(halt.actor): \(halt.reason) (run `gobot resume`)"
        }
        return nil
    }

    public static func killSwitchReason(_ config: GobotConfig) -> String? {
        if config.emergency.killSwitchEnabled, FileManager.default.fileExists(atPath: config.emergency.killSwitchFile) {
            return "kill switch file \(config.emergency.killSwitchFile) is present (remove it to resume)"
        }
        return nil
    }
}
