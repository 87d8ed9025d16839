import ArgumentParser
import Foundation
import GobotSteps

/// Prints a step's result where cron mail and journald expect it, and exits with its code.
enum Terminal {
    static func finish(_ result: StepRunner.Result) throws {
        if result.exit == .ok {
            print(result.message)
        } else {
            FileHandle.standardError.write(Data((result.message + "\n").utf8))
        }
        if result.exit != .ok { throw ExitCode(result.exit.rawValue) }
    }

    static func fail(_ message: String, code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return ExitCode(code)
    }
}
