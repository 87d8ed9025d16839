import Foundation
import GobotSteps
import Testing

/// `gobot halt` as an operator runs it while cron's trade or reconcile holds the account lock.
@Suite(.serialized) struct HaltBinaryTests {
    @Test func haltSetsTheFlagWhileTheAccountLockIsHeldAndOnlyFlattenWaitsForIt() throws {
        let dir = try BinaryTests.workdir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["\(dir)/state/locks/account.lock", "sleep", "6"]
        try holder.run()
        defer { holder.waitUntilExit() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, let probe = try? FileLock.acquire(path: "\(dir)/state/locks/account.lock") {
            probe.release()
            Thread.sleep(forTimeInterval: 0.05)
        }
        let halt = try BinaryTests.gobot(["halt", "--reason", "drill"], cwd: dir)
        #expect(halt.code == 0)
        #expect(halt.stdout.contains("halted: drill"))
        #expect(try BinaryTests.gobot(["status"], cwd: dir).stdout.contains("halted: yes"))
        let flatten = try BinaryTests.gobot(["halt", "--flatten"], cwd: dir)
        #expect(flatten.code == 75)
        #expect(flatten.stderr.contains("account.lock"))
    }
}
