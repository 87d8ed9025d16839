/// Binance USDⓈ-M funding marks: every 8 hours from 00:00 UTC. The paper exchange, the engine and
/// the edge replays charge funding at these marks by one rule, so they share one schedule.
public enum FundingSchedule {
    /// The time between two marks.
    @inlinable public static var intervalMs: Int64 { 28_800_000 }

    /// The first mark at or after `ms`.
    @inlinable public static func firstMark(atOrAfter ms: Int64) -> Int64 { (ms + intervalMs - 1) / intervalMs * intervalMs }

    /// Whether `ms` is a mark.
    @inlinable public static func isMark(_ ms: Int64) -> Bool { ms % intervalMs == 0 }
}
