import Foundation
import GobotCore
import GobotStore
import Notify

extension Steps {
    static let telegramOffsetKey = "telegram_update_offset"

    /// Reads bot commands (/status, /halt, /resume, /report) by polling getUpdates. Only the
    /// configured chat is obeyed, stale commands are ignored, and the offset is stored so an
    /// update is handled once.
    public static func telegramCommands(_ ctx: StepContext) async throws -> StepReport {
        guard ctx.config.telegram.enabled, ctx.config.telegram.pollCommands else {
            return StepReport(outcome: "nothing_to_do", message: "telegram: command polling is off (telegram.enabled / poll_commands)")
        }
        guard let telegram = ctx.telegram, let chat = ctx.secrets.telegramChatId.flatMap(Int64.init) else {
            throw StepError.missingSecret(name: "TELEGRAM_TOKEN / TELEGRAM_CHAT_ID", why: "to read Telegram commands")
        }
        let last = Int64(try ctx.db.value(forKey: telegramOffsetKey) ?? "")
        let updates: [TelegramUpdate]
        do {
            updates = try await telegram.getUpdates(offset: last.map { $0 + 1 }, timeoutSeconds: 1)
        } catch let e as TelegramError {
            if case .unauthorized = e { throw StepError.missingSecret(name: "TELEGRAM_TOKEN", why: "valid, Telegram answered 401") }
            throw StepError.tryLater("telegram: \(e)")
        }
        var handled: [String] = []
        for u in updates.sorted(by: { $0.updateId < $1.updateId }) {
            defer { try? ctx.db.setValue(String(u.updateId), forKey: telegramOffsetKey, atMs: ctx.nowMs) }
            guard u.chatId == chat else { handled.append("ignored update \(u.updateId) from another chat"); continue }
            let ageSeconds = ctx.nowMs / 1000 - u.dateSeconds
            guard ageSeconds <= Int64(ctx.config.telegram.maxCommandAgeSeconds) else {
                handled.append("ignored stale \(u.text) (\(ageSeconds) s old)")
                continue
            }
            let command = u.text.split(separator: " ").first.map { String($0.split(separator: "@").first ?? "") } ?? ""
            switch command {
            case "/halt":
                try ctx.db.setHalted(true, reason: "Telegram /halt", actor: "telegram", atMs: ctx.nowMs)
                Alerts.send(ctx, kind: "halt", key: "tg-\(u.updateId)", text: "⛔ halted from Telegram; send /resume to trade again")
            case "/resume":
                try ctx.db.setHalted(false, reason: "Telegram /resume", actor: "telegram", atMs: ctx.nowMs)
                Alerts.send(ctx, kind: "resume", key: "tg-\(u.updateId)", text: "▶️ resumed from Telegram")
            case "/status":
                Alerts.send(ctx, kind: "status", key: "tg-\(u.updateId)", text: try statusText(ctx))
            case "/report":
                Alerts.send(ctx, kind: "report", key: "tg-\(u.updateId)", text: try PnLReport.text(ctx.db, config: ctx.config, nowMs: ctx.nowMs))
            default:
                handled.append("unknown command \(u.text.prefix(30))")
                continue
            }
            handled.append(command)
        }
        return StepReport(outcome: updates.isEmpty ? "nothing_to_do" : "ok",
                          message: "telegram: \(updates.count) update\(updates.count == 1 ? "" : "s")" + (handled.isEmpty ? "" : ": " + handled.joined(separator: ", ")))
    }
}
