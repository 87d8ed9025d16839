import ArgumentParser

@main
struct Gobot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An autonomous trading bot for Binance USDⓈ-M futures, run as cron steps.",
        discussion: """
            Exit codes: 0 done (also nothing to do, halted), 1 failed, 64 usage, \
            75 try later (lock held, rate limited, exchange unavailable), 78 bad config.
            """,
        subcommands: [
            Init.self, ConfigCommand.self,
            Scan.self, Analyze.self, Trade.self, Reconcile.self, Report.self,
            Status.self, Halt.self, Resume.self, AuditCommand.self, BacktestCommand.self, Evaluate.self, Scorecard.self, Bench.self, Telegram.self, Validate.self,
        ]
    )
}
