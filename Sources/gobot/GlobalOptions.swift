import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GobotCore
import GobotSteps

/// Options every command shares, so every command finds its config and state the same way.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the YAML config (env GOBOT_CONFIG).")
    var config: String = ProcessInfo.processInfo.environment["GOBOT_CONFIG"] ?? "config/config.yaml"

    @Option(name: .long, help: "State directory; overrides state.dir in the config.")
    var stateDir: String?

    /// The runner and the loaded config, or exit 78 with every config problem printed.
    func loadConfig() throws -> (runner: StepRunner, config: GobotConfig) {
        let runner = self.runner()
        do { return (runner, try runner.loadConfig()) } catch { throw Terminal.fail(error.description, code: StepExit.badConfig.rawValue) }
    }

    /// The config for offline runs (backtest, evaluate): the file when it exists, else the
    /// defaults; a bad file exits 78 with every problem printed.
    func offlineConfig(_ runner: StepRunner) throws -> GobotConfig {
        guard FileManager.default.fileExists(atPath: config) else { return GobotConfig() }
        do { return try runner.loadConfig() } catch { throw Terminal.fail(error.description, code: StepExit.badConfig.rawValue) }
    }

    func runner() -> StepRunner {
        let env = ProcessInfo.processInfo.environment
        // Replays of paper trading on recorded candles run the real binary on a fixed clock;
        // LiveServices refuses it for demo and live.
        let clock: any WallClock = env["GOBOT_NOW_MS"].flatMap(Int64.init).map { ManualClock(ms: $0) } ?? SystemClock()
        return StepRunner(configPath: config, stateDirOverride: stateDir, environment: env, clock: clock)
    }

    /// The runner for a step: SIGTERM/SIGINT become a stop request the step sees (other
    /// commands, like `backtest`, keep the default action so Ctrl-C ends them at once).
    func stepRunner() -> StepRunner {
        let env = ProcessInfo.processInfo.environment
        var runner = runner()
        SignalTrap.install(runner.stop)
        if let grace = env["GOBOT_STOP_GRACE_SECONDS"].flatMap(Double.init) { runner.stopGraceSeconds = grace }
        runner.forceExit = { result in
            FileHandle.standardError.write(Data((result.message + "\n").utf8))
            Glibc.exit(result.exit.rawValue)
        }
        return runner
    }
}
