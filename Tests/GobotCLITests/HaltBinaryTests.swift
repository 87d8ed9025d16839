import Foundation
import GobotSteps
import Testing

/// `gobot halt` as an operator runs it while cron's trade or reconcile holds the account lock.
@Suite(.serialized) struct HaltBinaryTests {
    @Test func haltSetsTheFlagWhileTheAccountLockIsHeldAndOnlyFlattenWaitsForIt() throws {
        let dir = try BinaryTests.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let holder = try BinaryTests.holdLock("\(dir)/state/locks/account.lock", seconds: 6)
        defer { holder.waitUntilExit() }
        let halt = try BinaryTests.gobot(["halt", "--reason", "drill"], cwd: dir)
        #expect(halt.code == 0)
        #expect(halt.stdout.contains("halted: drill"))
        #expect(try BinaryTests.gobot(["status"], cwd: dir).stdout.contains("halted: yes"))
        let flatten = try BinaryTests.gobot(["halt", "--flatten"], cwd: dir)
        #expect(flatten.code == 75)
        #expect(flatten.stderr.contains("account.lock"))
    }
}
