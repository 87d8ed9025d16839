import ArgumentParser
import GobotBuildInfo

@main
struct Gobot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An autonomous trading bot for Binance USDⓈ-M futures, run as cron steps.",
        discussion: """
            Exit codes: 0 done (also nothing to do, halted), 1 failed (also a damaged state database), 64 usage, \
            73 cannot write the state directory (read-only filesystem, permissions, disk full), \
            75 try later (lock held, rate limited, exchange unavailable), 78 bad config, \
            143 stopped by SIGTERM/SIGINT (no new entries; what was entered is protected).
            """,
        version: BuildInfo.line,
        subcommands: [
            Init.self, ConfigCommand.self,
            Scan.self, Analyze.self, Trade.self, Reconcile.self, Report.self,
            Status.self, Halt.self, Resume.self, AuditCommand.self, BacktestCommand.self, Evaluate.self, Scorecard.self, DataCommand.self, Bench.self,
            Telegram.self, Validate.self, DashboardCommand.self,
        ]
    )

    static func main() async {
        MallocTuning.apply()
        await main(nil)
    }
}
