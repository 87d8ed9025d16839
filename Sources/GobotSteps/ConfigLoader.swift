import Foundation
import GobotCore
import Yams

/// Reads `config.yaml` at the edge and hands a library-independent tree to the pure decoder.
public enum ConfigLoader {
    public static func load(path: String) throws(ConfigError) -> GobotConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .unreadable(file: path, reason: "no such file (create one with `gobot init`)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(file: path, reason: "not readable as UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> GobotConfig {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw .syntax(file: file, line: nil, reason: String(describing: error))
        }
        guard let node else { return GobotConfig() }
        return try ConfigDecoder.decode(convert(node), file: file)
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .syntax(file: file, line: mark.line, reason: problem)
        default:
            return .syntax(file: file, line: nil, reason: "\(error)")
        }
    }

    static func convert(_ node: Yams.Node) -> ConfigNode {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let s):
            if s.style == .plain || s.style == .any, ["", "~", "null", "Null", "NULL"].contains(s.string) {
                return .null(line: line)
            }
            return .scalar(s.string, line: line)
        case .mapping(let m):
            return .mapping(m.map { pair in
                ConfigEntry(key: pair.key.string ?? "\(pair.key)", value: convert(pair.value), line: pair.key.mark?.line ?? line)
            }, line: line)
        case .sequence(let s):
            return .sequence(s.map(convert), line: line)
        case .alias:
            return .scalar("*alias", line: line)
        }
    }
}
