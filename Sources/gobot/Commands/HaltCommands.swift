import ArgumentParser
import GobotCore
import GobotSteps

extension Gobot {
    struct Halt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop opening trades until `gobot resume` (the kill-switch file works without this).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Why; kept in the audit log.") var reason: String = "manual halt"
        @Flag(help: "Also cancel all orders and close all positions.") var flatten = false

        func run() async throws {
            let reason = self.reason
            let flatten = self.flatten
            try Terminal.finish(await global.stepRunner().run(flatten ? .flatten : .halt) { ctx in
                try await Steps.halt(ctx, reason: reason, flatten: flatten, actor: "cli")
            })
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear the halt flag (the kill-switch file must be removed by hand).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Why; kept in the audit log.") var reason: String = "manual resume"

        func run() async throws {
            let reason = self.reason
            try Terminal.finish(await global.stepRunner().run(.resume) { ctx in
                try Steps.resume(ctx, reason: reason, actor: "cli")
            })
        }
    }
}
