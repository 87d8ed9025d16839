import Foundation
import GobotStore
import Notify

/// Delivers queued Telegram messages. Called at the end of every step, so a message that could
/// not be sent is retried by whichever step runs next; a sent message is marked and never resent.
public enum OutboxSender {
    @discardableResult
    public static func flush(_ ctx: StepContext, limit: Int = 20) async -> (sent: Int, pending: Int) {
        guard let telegram = ctx.telegram, let chat = ctx.secrets.telegramChatId else { return (0, 0) }
        var sent = 0
        let due = (try? ctx.db.dueMessages(atMs: ctx.nowMs, limit: limit)) ?? []
        for m in due {
            do {
                if m.kind == "photo" {
                    let lines = m.payload.split(separator: "\n", maxSplits: 1)
                    let png = try Data(contentsOf: URL(fileURLWithPath: String(lines.first ?? "")))
                    try await telegram.sendPhoto(chatId: chat, png: png, caption: lines.count > 1 ? String(lines[1]) : "")
                } else {
                    try await telegram.sendMessage(chatId: chat, html: m.payload)
                }
                try? ctx.db.markSent(m.id, atMs: ctx.nowMs)
                sent += 1
            } catch let error as TelegramError {
                let now = ctx.nowMs
                switch error {
                case .floodWait(let s):
                    try? ctx.db.markFailed(m.id, error: error.description, retryAtMs: now + Int64(s) * 1000)
                    return (sent, due.count - sent)  // honour retry_after for everything queued
                case .unauthorized, .unavailable, .conflict:
                    try? ctx.db.markFailed(m.id, error: error.description, retryAtMs: now + 60_000)
                    return (sent, due.count - sent)
                case .badRequest, .forbidden:
                    try? ctx.db.markFailed(m.id, error: error.description, retryAtMs: now + 3_600_000, maxAttempts: 5)
                }
            } catch {
                try? ctx.db.markFailed(m.id, error: "\(error)", retryAtMs: ctx.nowMs + 3_600_000, maxAttempts: 5)
            }
        }
        return (sent, due.count - sent)
    }
}
