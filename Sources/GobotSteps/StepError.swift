import Foundation
import GobotCore
import GobotStore

/// Errors that know which exit code they deserve.
public protocol ExitCodeProviding: Error {
    var stepExit: StepExit { get }
}

/// Failures of a step as a whole, with messages a user can act on.
public enum StepError: Error, Equatable, CustomStringConvertible, ExitCodeProviding {
    case tryLater(String)
    case failed(String)
    case missingSecret(name: String, why: String)

    public var description: String {
        switch self {
        case .tryLater(let m): m
        case .failed(let m): m
        case .missingSecret(let name, let why): "\(name) is not set in the environment; it is needed \(why)"
        }
    }

    public var stepExit: StepExit {
        switch self {
        case .tryLater: .tryLater
        case .failed: .failed
        case .missingSecret: .badConfig
        }
    }
}

extension StateDatabaseError: ExitCodeProviding {
    public var stepExit: StepExit {
        switch self {
        case .damaged, .other: .failed
        case .cannotWrite: .cantCreate
        case .busy: .tryLater
        }
    }
}

extension FileLock.Failure: ExitCodeProviding {
    /// A held lock clears when the other run ends; a lock file that cannot be created
    /// (read-only filesystem, permissions, full disk) does not.
    public var stepExit: StepExit {
        switch self {
        case .held: .tryLater
        case .cannotOpen(_, let e): [EROFS, EACCES, EPERM, ENOSPC, ENOTDIR, EDQUOT].contains(e) ? .cantCreate : .failed
        }
    }
}
