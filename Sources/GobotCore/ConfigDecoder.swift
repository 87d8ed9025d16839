import Foundation

/// Turns a parsed document into a ``GobotConfig``, reporting every problem with its key path,
/// line and the allowed range.
public enum ConfigDecoder {
    public static func decode(_ root: ConfigNode, file: String) throws(ConfigError) -> GobotConfig {
        var problems: [ConfigProblem] = []
        var config = GobotConfig()
        if case .null = root { return config }
        guard case .mapping = root else {
            throw .invalid(file: file, problems: [ConfigProblem(path: "(top level)", line: root.line,
                message: "must be a mapping of sections (\(ConfigSchema.sections.sorted().joined(separator: ", "))), got \(root.shortDescription)")])
        }
        checkUnknownKeys(root, prefix: "", problems: &problems)
        for field in ConfigSchema.fields {
            guard let node = lookup(root, path: field.path) else { continue }
            switch parse(node, kind: field.kind) {
            case .success(let value): field.apply(&config, value)
            case .failure(let failure):
                problems.append(ConfigProblem(path: field.path, line: node.line, message: failure.message))
            }
        }
        if problems.isEmpty { problems += crossChecks(config, root: root) }
        guard problems.isEmpty else {
            throw .invalid(file: file, problems: problems.sorted { ($0.line ?? 0, $0.path) < ($1.line ?? 0, $1.path) })
        }
        return config
    }

    static func crossChecks(_ c: GobotConfig, root: ConfigNode) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        func line(_ path: String) -> Int? { lookup(root, path: path)?.line }
        let rr = c.trading.takeProfitPercent / c.trading.stopLossPercent
        if rr < c.risk.minRewardRisk {
            out.append(ConfigProblem(path: "trading.take_profit_percent", line: line("trading.take_profit_percent"),
                message: "reward:risk is \(rr.rounded(scale: 2)) (take_profit_percent / stop_loss_percent); it must be at least risk.min_reward_risk = \(c.risk.minRewardRisk)"))
        }
        if c.trading.maxPositionUSD > c.trading.initialCapitalUSD * Decimal(c.execution.leverage) {
            out.append(ConfigProblem(path: "trading.max_position_usd", line: line("trading.max_position_usd"),
                message: "must not exceed trading.initial_capital_usd x execution.leverage (\(c.trading.initialCapitalUSD * Decimal(c.execution.leverage)))"))
        }
        return out
    }

    static func lookup(_ root: ConfigNode, path: String) -> ConfigNode? {
        var node = root
        for part in path.split(separator: ".") {
            guard case .mapping(let entries, _) = node,
                  let entry = entries.last(where: { $0.key == part }) else { return nil }
            node = entry.value
        }
        return node
    }

    static func checkUnknownKeys(_ root: ConfigNode, prefix: String, problems: inout [ConfigProblem]) {
        guard case .mapping(let entries, _) = root else { return }
        var seen: Set<String> = []
        let known: [String] = prefix.isEmpty
            ? ConfigSchema.sections.sorted()
            : ConfigSchema.fields.compactMap { f -> String? in
                // The next path component: a setting, or a nested section such as risk.edge_breaker.
                f.path.hasPrefix(prefix + ".") ? f.path.dropFirst(prefix.count + 1).split(separator: ".").first.map(String.init) : nil
            }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for entry in entries {
            let path = prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"
            if !seen.insert(entry.key).inserted {
                problems.append(ConfigProblem(path: path, line: entry.line, message: "appears twice; keep one"))
            }
            if known.contains(entry.key) {
                let nested = !prefix.isEmpty && ConfigSchema.fields.contains { $0.path.hasPrefix(path + ".") }
                if prefix.isEmpty || nested {
                    if case .mapping = entry.value {
                        checkUnknownKeys(entry.value, prefix: path, problems: &problems)
                    } else if case .null = entry.value {
                        continue
                    } else {
                        problems.append(ConfigProblem(path: path, line: entry.line,
                            message: "must be a mapping of settings, got \(entry.value.shortDescription)"))
                    }
                }
                continue
            }
            var message = "unknown key"
            if let suggestion = closest(entry.key, in: known) {
                message += "; did you mean '\(prefix.isEmpty ? suggestion : "\(prefix).\(suggestion)")'?"
            } else {
                message += "; allowed here: \(known.joined(separator: ", "))"
            }
            problems.append(ConfigProblem(path: path, line: entry.line, message: message))
        }
    }

    static func parse(_ node: ConfigNode, kind: ConfigSchema.Kind) -> Result<ConfigSchema.Value, ParseFailure> {
        let allowed = kind.allowed
        func fail() -> Result<ConfigSchema.Value, ParseFailure> {
            .failure(ParseFailure("must be \(allowed), got \(node.shortDescription)"))
        }
        switch kind {
        case .symbols:
            guard case .sequence(let items, _) = node else { return fail() }
            var symbols: [String] = []
            for item in items {
                guard case .scalar(let s, _) = item, Symbol.isValid(s) else {
                    return .failure(ParseFailure("must be \(allowed); \(item.shortDescription) is not an upper-case symbol"))
                }
                symbols.append(s)
            }
            return .success(.list(symbols))
        case .userIds:
            if case .null = node { return .success(.ids([])) }
            guard case .sequence(let items, _) = node else { return fail() }
            var ids: [Int64] = []
            for item in items {
                guard case .scalar(let s, _) = item, let id = Int64(s), id > 0 else {
                    return .failure(ParseFailure("must be \(allowed); \(item.shortDescription) is not a user id (a positive whole number; message @userinfobot to learn yours)"))
                }
                ids.append(id)
            }
            return .success(.ids(ids))
        case .optionalURL:
            if case .null = node { return .success(.none) }
            // `{step}` is a placeholder (health.ping_url), not part of the URL's syntax.
            guard case .scalar(let s, _) = node, s.hasPrefix("http://") || s.hasPrefix("https://"),
                  URL(string: s.replacingOccurrences(of: "{step}", with: "step"))?.host != nil else { return fail() }
            return .success(.text(s.hasSuffix("/") ? String(s.dropLast()) : s))
        default:
            break
        }
        guard case .scalar(let raw, _) = node else { return fail() }
        switch kind {
        case .decimal(let lo, let hi):
            guard let d = Decimal(string: raw, locale: Locale(identifier: "en_US_POSIX")),
                  raw.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }), d >= lo, d <= hi else { return fail() }
            return .success(.decimal(d))
        case .fraction(let lo, let hi):
            guard let d = Double(raw), d >= lo, d <= hi else { return fail() }
            return .success(.fraction(d))
        case .integer(let lo, let hi):
            guard let i = Int(raw), i >= lo, i <= hi else { return fail() }
            return .success(.integer(i))
        case .bool:
            switch raw {
            case "true": return .success(.bool(true))
            case "false": return .success(.bool(false))
            default: return fail()
            }
        case .choice(let options):
            guard options.contains(raw) else { return fail() }
            return .success(.text(raw))
        case .text:
            guard !raw.trimmingCharacters(in: .whitespaces).isEmpty else { return fail() }
            return .success(.text(raw))
        case .symbols, .optionalURL, .userIds:
            return fail()
        }
    }

    struct ParseFailure: Error { let message: String; init(_ m: String) { message = m } }

    /// The known key nearest to a misspelt one, if it is plausibly a typo.
    static func closest(_ key: String, in known: [String]) -> String? {
        let scored = known.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored else { return nil }
        return distance <= max(2, best.count / 3) ? best : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

