import GobotCore
import Testing

@Suite struct StepHealthTests {
    let now: Int64 = 1_700_000_000_000
    let minute: Int64 = 60_000

    @Test func freshWithinThreeIntervalsStaleBeyond() {
        let ok = StepHealth.evaluate(step: "reconcile", intervalMinutes: 2, staleAfterIntervals: 3, lastSuccessMs: now - 6 * minute,
                                     firstRunMs: now - 60 * minute, nowMs: now)
        #expect(ok.state == .ok)
        #expect(ok.ageSeconds == 360)
        let stale = StepHealth.evaluate(step: "reconcile", intervalMinutes: 2, staleAfterIntervals: 3, lastSuccessMs: now - 6 * minute - 1,
                                        firstRunMs: now - 60 * minute, nowMs: now)
        #expect(stale.state == .stale)
        #expect(stale.line.contains("STALE"))
        #expect(stale.line.contains("last success 6m ago (expected every 2m)"))
    }

    @Test func neverSucceededIsOnlyLateOnceGobotHasRunLongEnough() {
        let young = StepHealth.evaluate(step: "report", intervalMinutes: 1440, staleAfterIntervals: 3, lastSuccessMs: nil,
                                        firstRunMs: now - 2 * 1440 * minute, nowMs: now)
        #expect(young.state == .waiting)
        #expect(young.ageSeconds == nil)
        let old = StepHealth.evaluate(step: "report", intervalMinutes: 1440, staleAfterIntervals: 3, lastSuccessMs: nil,
                                      firstRunMs: now - 3 * 1440 * minute - 1, nowMs: now)
        #expect(old.state == .stale)
        #expect(old.line.contains("never succeeded"))
        let nothingRan = StepHealth.evaluate(step: "scan", intervalMinutes: 5, staleAfterIntervals: 3, lastSuccessMs: nil, firstRunMs: nil, nowMs: now)
        #expect(nothingRan.state == .waiting)
    }

    @Test func agesReadShort() {
        #expect(StepHealth.ageText(seconds: 42) == "42s")
        #expect(StepHealth.ageText(seconds: 300) == "5m")
        #expect(StepHealth.ageText(seconds: 7800) == "2h10m")
        #expect(StepHealth.ageText(seconds: 3 * 86_400 + 4 * 3600) == "3d4h")
    }

    @Test func telegramIsWatchedOnlyWhenEnabled() {
        let health = GobotConfig().health
        #expect(health.expectedIntervals(telegramEnabled: false).map(\.step) == ["scan", "analyze", "trade", "reconcile", "report"])
        #expect(health.expectedIntervals(telegramEnabled: true).last?.step == "telegram")
        #expect(health.expectedIntervals(telegramEnabled: false).first { $0.step == "reconcile" }?.minutes == 2)
    }
}
