/// One measurement of the exchange's clock against the host's.
///
/// The client measures `offsetMs` = server time − local time at the END of the time request,
/// so the timestamps it signs are never ahead of the server (Binance refuses those). The server
/// stamped its answer somewhere inside the round trip, so the true offset lies anywhere in
/// `offsetMs ... offsetMs + roundTripMs`. A slow round trip (a loaded host, a far network) is
/// not a wrong clock: judging the host clock by `offsetMs` alone refused entries on a host whose
/// clock was right. The skew gate uses only what the measurement proves.
public struct ClockSync: Sendable, Equatable {
    public var offsetMs: Int64
    public var syncedAtMs: Int64
    public var roundTripMs: Int64

    public init(offsetMs: Int64, syncedAtMs: Int64, roundTripMs: Int64) {
        self.offsetMs = offsetMs
        self.syncedAtMs = syncedAtMs
        self.roundTripMs = max(0, roundTripMs)
    }

    /// The smallest host-clock error consistent with the measurement, signed like the offset
    /// (positive: the host is behind the exchange); 0 when a right clock explains it.
    public var provableSkewMs: Int64 {
        if offsetMs > 0 { return offsetMs }
        if offsetMs + roundTripMs < 0 { return offsetMs + roundTripMs }
        return 0
    }

    /// The middle of the possible range: the best single estimate, for display.
    public var estimatedSkewMs: Int64 { offsetMs + roundTripMs / 2 }
}
