import Foundation
import GobotCore
import GobotHTTP
import Notify

/// Alerts that cannot go through the outbox because the outbox lives in the database that
/// failed: sent to Telegram directly when it is configured (one attempt, short timeout), and
/// always returned for stderr, so cron mail and journald carry it too.
public enum DamageAlert {
    /// Sends `text` to the configured chat; returns where it went, for the printed message.
    public static func send(_ text: String, config: GobotConfig, secrets: Secrets) async -> String {
        guard config.telegram.enabled, let token = secrets.telegramToken, let chat = secrets.telegramChatId else {
            return "alert: stderr only (telegram is not configured)"
        }
        let client = TelegramClient(baseURL: config.telegram.apiBaseURL, token: token, transport: URLSessionTransport(timeoutSeconds: 10))
        do {
            try await client.sendMessage(chatId: chat, html: TelegramClient.escapeHTML("🚨 " + secrets.scrub(text)))
            return "alert: sent to Telegram"
        } catch {
            return "alert: Telegram failed (\(secrets.scrub(String(describing: error)))), stderr only"
        }
    }
}
