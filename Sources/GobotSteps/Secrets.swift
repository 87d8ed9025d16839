import Foundation

/// Credentials, read only from the environment and never stored, logged or sent to the analyst.
public struct Secrets: Sendable, Equatable {
    public var binanceKey: String?
    public var binanceSecret: String?
    public var openAIKey: String?
    public var telegramToken: String?
    public var telegramChatId: String?

    public static let names = ["BINANCE_API_KEY", "BINANCE_API_SECRET", "OPENAI_API_KEY", "TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID"]

    public init(environment: [String: String]) {
        func get(_ k: String) -> String? {
            guard let v = environment[k]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        binanceKey = get("BINANCE_API_KEY")
        binanceSecret = get("BINANCE_API_SECRET")
        openAIKey = get("OPENAI_API_KEY")
        telegramToken = get("TELEGRAM_TOKEN")
        telegramChatId = get("TELEGRAM_CHAT_ID")
    }

    /// Shows that a secret is set without showing it: the length and at most the last 2 characters.
    public static func redact(_ value: String?) -> String {
        guard let value else { return "(not set)" }
        guard value.count >= 12 else { return "set (\(value.count) chars)" }
        return "set (\(value.count) chars, ...\(value.suffix(2)))"
    }

    public var redactedLines: [String] {
        [("BINANCE_API_KEY", binanceKey), ("BINANCE_API_SECRET", binanceSecret), ("OPENAI_API_KEY", openAIKey),
         ("TELEGRAM_TOKEN", telegramToken), ("TELEGRAM_CHAT_ID", telegramChatId)]
            .map { "\($0.0): \(Self.redact($0.1))" }
    }

    /// Every secret value, so text leaving the process can be scrubbed of them.
    public var values: [String] {
        [binanceKey, binanceSecret, openAIKey, telegramToken].compactMap { $0 }.filter { $0.count >= 6 }
    }

    public func scrub(_ text: String) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: $1, with: "[REDACTED]") }
    }
}
