import Foundation
import GobotCore
import GobotHTTP
import Notify

/// Alerts that cannot go through the outbox because the outbox lives in the database that
/// failed: sent to Telegram directly when it is configured (one attempt, short timeout), and
/// always returned for stderr, so cron mail and journald carry it too.
public enum DamageAlert {
    /// Sends `text` to the configured chat, at most once an hour (every cron step would
    /// otherwise repeat it every minute): `marker` is a file whose age says when the last one
    /// went. Returns where the alert went, for the printed message.
    public static func send(_ text: String, config: GobotConfig, secrets: Secrets, marker: String, now: Date = Date()) async -> String {
        guard config.telegram.enabled, let token = secrets.telegramToken, let chat = secrets.telegramChatId else {
            return "alert: stderr only (telegram is not configured)"
        }
        if let last = (try? FileManager.default.attributesOfItem(atPath: marker))?[.modificationDate] as? Date,
           now.timeIntervalSince(last) < 3600 {
            return "alert: already sent to Telegram at \(ISO8601DateFormatter().string(from: last)), repeated hourly"
        }
        let client = TelegramClient(baseURL: config.telegram.apiBaseURL, token: token, transport: URLSessionTransport(timeoutSeconds: 30))
        do {
            try await client.sendMessage(chatId: chat, html: TelegramClient.escapeHTML("🚨 " + secrets.scrub(text)))
            _ = FileManager.default.createFile(atPath: marker, contents: Data(text.utf8))
            return "alert: sent to Telegram"
        } catch {
            return "alert: Telegram failed (\(secrets.scrub(String(describing: error)))), stderr only"
        }
    }
}
