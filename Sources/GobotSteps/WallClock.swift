import Foundation

/// The time source of every step. Live steps use the system clock; tests and backtests inject
/// their own, so nothing reads the clock behind the step's back.
public protocol WallClock: Sendable {
    func nowMs() -> Int64
}

public struct SystemClock: WallClock {
    public init() {}
    public func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}

/// A clock that moves only when told to: for tests and the backtest's simulated cron.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64

    public init(ms: Int64) { current = ms }

    public func nowMs() -> Int64 { lock.withLock { current } }
    public func set(_ ms: Int64) { lock.withLock { current = ms } }
    public func advance(ms: Int64) { lock.withLock { current += ms } }
}
