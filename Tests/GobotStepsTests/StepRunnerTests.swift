import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing
@testable import GobotSteps

@Suite struct StepRunnerTests {
    func runner(_ dir: borrowing TempDir, killSwitch: String) throws -> StepRunner {
        let yaml = DefaultConfig.yaml.replacingOccurrences(of: "/tmp/gobot_kill_switch", with: killSwitch)
        try yaml.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        return StepRunner(configPath: dir.file("config.yaml"), stateDirOverride: dir.file("state"),
                          environment: [:], clock: ManualClock(ms: 1_700_000_000_000))
    }

    @Test func killSwitchFileBlocksStepsThatOpenRiskAndIsRecorded() async throws {
        let dir = TempDir()
        let kill = dir.file("kill")
        let runner = try runner(dir, killSwitch: kill)
        _ = FileManager.default.createFile(atPath: kill, contents: Data())

        let result = await runner.run(.trade) { _ in
            Issue.record("the trade body must not run while the kill switch is present")
            return StepReport(message: "traded")
        }
        #expect(result.exit == .ok)
        #expect(result.outcome == "halted")
        #expect(result.message.contains("kill switch file \(kill) is present"))
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(try db.runs(step: "trade").map(\.outcome) == ["halted"])
    }

    @Test func reconcileStillRunsUnderTheKillSwitchBecauseItOnlyProtects() async throws {
        let dir = TempDir()
        let kill = dir.file("kill")
        let runner = try runner(dir, killSwitch: kill)
        _ = FileManager.default.createFile(atPath: kill, contents: Data())
        let result = await runner.run(.reconcile) { _ in StepReport(message: "reconciled") }
        #expect(result == StepRunner.Result(exit: .ok, outcome: "ok", message: "reconciled"))
    }

    @Test func haltFlagBlocksUntilResume() async throws {
        let dir = TempDir()
        let runner = try runner(dir, killSwitch: dir.file("absent"))
        _ = await runner.run(.halt) { try await Steps.halt($0, reason: "drill", flatten: false, actor: "test") }
        let blocked = await runner.run(.scan) { _ in StepReport(message: "scanned") }
        #expect(blocked.outcome == "halted")
        #expect(blocked.message.contains("halted by test: drill"))
        _ = await runner.run(.resume) { try Steps.resume($0, reason: "drill over", actor: "test") }
        let ran = await runner.run(.scan) { _ in StepReport(message: "scanned") }
        #expect(ran.message == "scanned")
    }

    @Test func aHaltFlagThatCannotBeReadBlocksStepsThatOpenRisk() async throws {
        let dir = TempDir()
        let runner = try runner(dir, killSwitch: dir.file("absent"))
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        try db.write { try $0.execute(sql: "DROP TABLE halt_state") }
        // It read as "running" (try?): an unreadable flag must not let trade run.
        #expect(throws: (any Error).self) { try runner.haltReason(config: GobotConfig(), db: db) }
        // Not run, and a failure (exit 1), not a quiet "halted" with exit 0.
        let result = await runner.run(.trade) { _ in
            Issue.record("the trade body must not run on a halt flag it cannot read")
            return StepReport(message: "traded")
        }
        #expect(result.exit == .failed && result.outcome == "failed")
        #expect(result.message.contains("the halt flag cannot be read"))
    }

    @Test func aHaltFlagUnreadableOnlyBecauseTheDatabaseIsBusyIsTryLaterNotAFailure() throws {
        let dir = TempDir()
        let path = dir.file("gobot.sqlite")
        let holder = try DatabaseQueue(path: path)
        try holder.write { try $0.execute(sql: "CREATE TABLE halt_state (id INTEGER PRIMARY KEY, halted INTEGER)") }
        // Another process holds the database past the busy timeout: the read meets SQLITE_BUSY.
        let reader = try DatabaseQueue(path: path)
        var busy: DatabaseError?
        try holder.inTransaction(.exclusive) { _ in
            do { try reader.read { _ = try Row.fetchAll($0, sql: "SELECT * FROM halt_state") } } catch let error as DatabaseError { busy = error }
            return .rollback
        }
        let busyError = try #require(busy, "the read passed an exclusive lock")
        #expect(busyError.resultCode == .SQLITE_BUSY)
        // It exited 1 with a failure alert, as for a damaged flag: nothing ran, and it is 75.
        let later = StepRunner.haltUnreadable(.trade, busyError, path: path)
        #expect(later.exit == .tryLater && later.outcome == "busy")
        #expect(later.message.contains("the halt flag cannot be read now"))
        // Damage (the flag's table gone) is still a failure.
        let damaged: any Error
        do {
            try reader.read { _ = try Row.fetchAll($0, sql: "SELECT * FROM halt_flag_gone") }
            Issue.record("a missing table read")
            return
        } catch { damaged = error }
        let failed = StepRunner.haltUnreadable(.trade, damaged, path: path)
        #expect(failed.exit == .failed && failed.outcome == "failed")
        #expect(failed.message.contains("the halt flag cannot be read ("))
    }

    @Test func badConfigExits78AndTryLaterErrorsExit75() async throws {
        let dir = TempDir()
        try "trading:\n  max_trades_per_day: many\n".write(toFile: dir.file("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = StepRunner(configPath: dir.file("bad.yaml"), stateDirOverride: dir.file("state"), environment: [:])
        let r = await bad.run(.scan) { _ in StepReport(message: "x") }
        #expect(r.exit == .badConfig)
        #expect(r.message.contains("line 2: trading.max_trades_per_day: must be a whole number from 0 to 1000, got \"many\""))

        let runner = try runner(dir, killSwitch: dir.file("absent"))
        let later = await runner.run(.scan) { _ in throw StepError.tryLater("exchange unavailable") }
        #expect(later.exit == .tryLater)
        let failed = await runner.run(.scan) { _ in throw StepError.failed("boom") }
        #expect(failed.exit == .failed)
        let db = try GobotDatabase.open(path: dir.file("state/gobot.sqlite"))
        #expect(try db.runs(step: "scan").map(\.exitCode) == [75, 1])
    }

    @Test func metricsFileIsWrittenAfterEveryRun() async throws {
        let dir = TempDir()
        let runner = try runner(dir, killSwitch: dir.file("absent"))
        _ = await runner.run(.scan) { _ in StepReport(message: "ok") }
        let text = try String(contentsOfFile: dir.file("state/metrics/gobot.prom"), encoding: .utf8)
        #expect(text.contains("gobot_step_last_exit_code{step=\"scan\"} 0"))
        #expect(text.contains("gobot_halted 0"))
    }
}
