/// One thing wrong with a configuration file, with the key path and line that hold it.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "line \(line): \(path): \(message)" }
        return "\(path): \(message)"
    }
}

/// Why a configuration could not be used. Every problem is reported, not just the first,
/// so one `gobot config check` is enough to fix a file.
public enum ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int?, reason: String)
    case invalid(file: String, problems: [ConfigProblem])

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "cannot read config \(file): \(reason)"
        case .syntax(let file, let line, let reason):
            return "config \(file)\(line.map { ":\($0)" } ?? ""): not valid YAML: \(reason)"
        case .invalid(let file, let problems):
            let lines = problems.map { "  \(file): \($0)" }
            return "config \(file) has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
                + lines.joined(separator: "\n")
        }
    }
}
