import GobotCore
import Testing

@Suite struct ClockSyncTests {
    @Test func aRoundTripThatExplainsTheOffsetProvesNoSkew() {
        // Measured at the end of a 3 s request: -3 s, yet a right clock explains it.
        #expect(ClockSync(offsetMs: -3_000, syncedAtMs: 0, roundTripMs: 3_000).provableSkewMs == 0)
        #expect(ClockSync(offsetMs: -1_200, syncedAtMs: 0, roundTripMs: 3_000).estimatedSkewMs == 300)
    }

    @Test func onlyWhatTheRoundTripCannotExplainCounts() {
        // Host 5 s fast behind a 2 s round trip: measured -7 s, proven 5 s ahead (negative: ahead).
        #expect(ClockSync(offsetMs: -7_000, syncedAtMs: 0, roundTripMs: 2_000).provableSkewMs == -5_000)
        // A host behind the exchange: the offset measured at the end is already the least it can be.
        #expect(ClockSync(offsetMs: 4_000, syncedAtMs: 0, roundTripMs: 2_000).provableSkewMs == 4_000)
        // Without a round trip the offset is the skew.
        #expect(ClockSync(offsetMs: -3_600_000, syncedAtMs: 0, roundTripMs: 0).provableSkewMs == -3_600_000)
    }
}
