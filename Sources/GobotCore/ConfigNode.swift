/// A parsed configuration document, independent of the YAML library that produced it.
///
/// Keeping the tree here lets the validator live in the pure core and name the line of every
/// problem, while the YAML parser stays at the edge.
public indirect enum ConfigNode: Sendable, Equatable {
    case scalar(String, line: Int)
    case mapping([ConfigEntry], line: Int)
    case sequence([ConfigNode], line: Int)
    case null(line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line), .null(let line): line
        }
    }

    /// A short rendering used in error messages ("got ...").
    public var shortDescription: String {
        switch self {
        case .scalar(let s, _): "\"\(s)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .null: "nothing"
        }
    }
}

/// One `key: value` pair of a mapping, with the line of the key.
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var value: ConfigNode
    public var line: Int

    public init(key: String, value: ConfigNode, line: Int) {
        self.key = key
        self.value = value
        self.line = line
    }
}
