/// The exit codes every step uses, from sysexits(3), so cron and systemd can tell outcomes apart.
public enum StepExit: Int32, Sendable, Equatable {
    /// Done, nothing to do, or halted on purpose.
    case ok = 0
    case failed = 1
    case usage = 64
    /// The state directory or database cannot be written (read-only filesystem, permissions,
    /// disk full): retrying will not help until someone fixes the host.
    case cantCreate = 73
    /// Try later: lock held, rate limited, exchange unavailable.
    case tryLater = 75
    case badConfig = 78
    /// Stopped on request (SIGTERM from systemd or shutdown, SIGINT): 128 + 15 by shell convention.
    case terminated = 143
}

/// The steps gobot runs; each has its own lock file.
public enum StepName: String, Sendable, CaseIterable, Equatable {
    case scan, analyze, trade, reconcile, report, halt, flatten, resume, status, validate, backtest, telegram

    /// Steps that can open new risk; the kill switch and halt flag stop them.
    public var opensRisk: Bool {
        switch self {
        case .scan, .analyze, .trade: true
        default: false
        }
    }
}
