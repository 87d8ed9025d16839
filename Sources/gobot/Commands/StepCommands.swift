import ArgumentParser
import GobotCore
import GobotSteps

extension Gobot {
    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pick symbols and store 1m/5m/15m candles.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.scan) { try await Steps.scan($0) })
        }
    }

    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Render charts for fresh candidates and ask the analyst.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.analyze) { try await Steps.analyze($0) })
        }
    }

    struct Trade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Risk gate, size and enter fresh signals with exchange-side protection.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.trade) { try await Steps.trade($0) })
        }
    }

    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the database agree with the exchange.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.reconcile) { try await Steps.reconcile($0) })
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Daily and weekly P&L to stdout and Telegram.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.report) { try await Steps.report($0) })
        }
    }
}

extension Gobot {
    struct Telegram: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read bot commands (/status, /halt, /resume, /report) from the configured chat and deliver queued messages.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try Terminal.finish(await global.stepRunner().run(.telegram) { try await Steps.telegramCommands($0) })
        }
    }
}
