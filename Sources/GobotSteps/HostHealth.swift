import Foundation
import GobotCore
import GobotStore
#if canImport(Glibc)
import Glibc
#endif

/// Measurements of the host that the risk gate and `status` judge: free space on the state
/// filesystem and the host clock's distance from the exchange's. The steps measure, the gate
/// (pure) decides.
public enum HostHealth {
    /// Free space available to gobot (not root's reserve) on the filesystem holding `path`, in MiB.
    public static func freeMB(atPath path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize) / (1024 * 1024)
    }

    /// The Binance client's last measurement of the exchange clock against this host's (it
    /// syncs at most hourly, on the first signed request); nil when it never synced (paper trading).
    /// An unreadable value throws: the gate must not take it for "never synced".
    public static func clockSync(_ db: GobotDatabase) throws -> ClockSync? {
        try DatabaseExchangeState(db: db, breakerThreshold: 1, breakerCooldownMs: 0).clockSync()
    }

    /// What `status` should warn about on this host, in words a user can act on.
    public static func warnings(config: GobotConfig, paths: StepPaths, db: GobotDatabase, nowMs: Int64) -> [String] {
        var out: [String] = []
        let sync: ClockSync?
        do { sync = try clockSync(db) } catch {
            out.append("the host clock's last measurement cannot be read (\(error)); trade refuses entries until it can")
            sync = nil
        }
        if let sync {
            let limit = Int64(config.execution.maxClockSkewMs)
            // status's own threshold is 1 s (or the configured limit, if tighter).
            let warnAt = min(limit, 1000)
            let skew = sync.provableSkewMs
            if abs(skew) > warnAt {
                let ago = max(0, nowMs - sync.syncedAtMs) / 60_000
                let range = sync.roundTripMs > 0 ? " (at least; the time request took \(sync.roundTripMs) ms)" : ""
                out.append("host clock is \(abs(skew)) ms \(skew > 0 ? "behind" : "ahead of") the exchange\(range) (measured \(ago) min ago)"
                           + (abs(skew) > limit ? "; trade refuses entries beyond execution.max_clock_skew_ms \(limit)" : "")
                           + "; check NTP (timedatectl, chronyc tracking)")
            }
        }
        if let free = freeMB(atPath: paths.stateDir), free < Int64(config.state.minFreeMB) {
            out.append("only \(free) MB free on the state filesystem (\(paths.stateDir)), below state.min_free_mb \(config.state.minFreeMB): trade refuses entries")
        }
        return out
    }
}

extension RiskState {
    /// This state with the host measurements the gate checks before an entry.
    public func measuringHost(_ ctx: StepContext) throws -> RiskState {
        var s = self
        s.stateFreeMB = HostHealth.freeMB(atPath: ctx.paths.stateDir)
        let sync = try HostHealth.clockSync(ctx.db)
        s.clockSkewMs = sync?.provableSkewMs
        s.clockRoundTripMs = sync?.roundTripMs
        return s
    }
}
