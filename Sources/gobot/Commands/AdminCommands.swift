import ArgumentParser
import Foundation
import GobotCore
import GobotStore
import GobotSteps

extension Gobot {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a default config (if none) and create the state database.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Replace an existing config file.") var force = false

        func run() async throws {
            let path = global.config
            if force || !FileManager.default.fileExists(atPath: path) {
                let dir = (path as NSString).deletingLastPathComponent
                if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                try DefaultConfig.yaml.write(toFile: path, atomically: true, encoding: .utf8)
                print("wrote \(path)")
            } else {
                print("kept existing \(path)")
            }
            let (runner, config) = try global.loadConfig()
            let paths = runner.paths(for: config)
            try paths.createDirectories()
            let db = try await runner.openOrExit("gobot init", paths: paths, config: config)
            try StateFileModes.makePrivate(stateDir: paths.stateDir, database: paths.database)
            print("state ready: \(paths.database) (migrations: \(try db.appliedMigrations().joined(separator: ", ")))")
        }
    }

    struct ConfigCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "config", abstract: "Inspect the configuration.",
                                                        subcommands: [Check.self])

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Report every problem in the config, and which secrets are set (redacted).")
            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let (runner, config) = try global.loadConfig()
                let secrets = Secrets(environment: runner.environment)
                print("config \(global.config): ok")
                print("exchange: \(config.exchange.environment.rawValue), analyst: \(config.analyst.kind.rawValue), state: \(runner.paths(for: config).stateDir)")
                print("trading: capital $\(config.trading.initialCapitalUSD), max position $\(config.trading.maxPositionUSD), stop \(config.trading.stopLossPercent)%, target \(config.trading.takeProfitPercent)%, min confidence \(config.trading.minConfidence)")
                print("limits: \(config.trading.maxTradesPerDay) trades/day, daily loss $\(config.trading.dailyLossLimitUSD), weekly loss $\(config.risk.weeklyLossLimitUSD), cooldown \(config.trading.symbolCooldownMinutes) min")
                for line in secrets.redactedLines { print(line) }
                let missing = SecretRequirements.missing(config: config, secrets: secrets)
                for m in missing + Steps.telegramConfigWarnings(config) { FileHandle.standardError.write(Data("warning: \(m)\n".utf8)) }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Equity, P&L, positions, breakers, halt state and the last run of each step.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON for machines.") var json = false

        func run() async throws {
            let json = self.json
            try Terminal.finish(await global.stepRunner().run(.status) { ctx in try Steps.status(ctx, json: json) })
        }
    }

    struct AuditCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "audit", abstract: "The hash-chained audit log.",
                                                        subcommands: [Verify.self])

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Check that no audit entry was edited or deleted (exit 1 if one was).")
            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let (runner, config) = try global.loadConfig()
                let db = try await runner.openOrExit("gobot audit verify", paths: runner.paths(for: config), config: config)
                let verdict = try db.verifyAudit()
                switch verdict {
                case .valid: print(verdict.description)
                case .broken: throw Terminal.fail(verdict.description, code: StepExit.failed.rawValue)
                }
            }
        }
    }
}

extension Gobot {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The testnet acceptance checklist from the database: pass/fail per item (exit 1 if any fails).")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let result = await global.stepRunner().run(.validate) { try Steps.validate($0) }
            print(result.message)
            if result.exit != .ok { throw ExitCode(result.exit.rawValue) }
        }
    }
}

extension StepRunner {
    /// Opens the state database outside a step, refusing a damaged or unwritable one the way
    /// every step does (same message, alert and exit code).
    func openOrExit(_ label: String, paths: StepPaths, config: GobotConfig) async throws -> GobotDatabase {
        do {
            return try GobotDatabase.open(path: paths.database)
        } catch {
            let r = await refuse(label, error, paths: paths, config: config, secrets: Secrets(environment: environment))
            throw Terminal.fail(r.message, code: r.exit.rawValue)
        }
    }
}
