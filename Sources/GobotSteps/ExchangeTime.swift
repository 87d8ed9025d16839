import GobotCore

/// The exchange's clock as gobot knows it. Binance compares every `startTime`/`endTime` and every
/// signed `timestamp` with its own clock, so a host clock that is off must not shift the windows
/// gobot asks for. The offset is the one the Binance client keeps in the state database (synced
/// hourly and on -1021); the paper exchange has none (offset 0).
extension StepContext {
    /// Server time minus local time, in ms (0 until the client first synced). A database that
    /// cannot be read is an error: an offset taken as 0 would shift every window gobot asks for.
    public func exchangeOffsetMs() throws -> Int64 {
        try DatabaseExchangeState(db: db, breakerThreshold: 1, breakerCooldownMs: 0).clockSync()?.offsetMs ?? 0
    }

    /// Now on the exchange's clock.
    public func exchangeNowMs() throws -> Int64 { nowMs + (try exchangeOffsetMs()) }

    /// Slack on every history window, for the error of the offset itself.
    static let windowMarginMs: Int64 = 60_000

    /// How long after its intent row an order request may still reach the exchange and execute:
    /// the client signs it for the last time at most three timeouts after the row (a stale clock
    /// offset synced, the first send answered -1021/-5028, a forced resync, then the signed
    /// resend), Binance accepts it until `timestamp + recvWindow`, plus a margin for the clock
    /// offset's error. Before that an order that is not found is "not yet", never "never sent".
    var inFlightHorizonMs: Int64 {
        let e = config.exchange
        return Int64(e.recvWindowMs) + 3 * Int64(e.requestTimeoutSeconds * 1000) + 5_000
    }

    /// Whether an order row written at `createdAtMs` (local) can no longer arrive at the exchange.
    func intentIsSettled(createdAtMs: Int64) -> Bool { nowMs - createdAtMs > inFlightHorizonMs }
}
