import Foundation
import GobotCore
import GobotStore
import Notify

extension Steps {
    static let telegramOffsetKey = "telegram_update_offset"
    static let telegramUsernameKey = "telegram_bot_username"

    /// `/halt@some_bot now` → ("/halt", "some_bot"); `/halt` → ("/halt", nil).
    static func commandParts(_ text: String) -> (command: String, bot: String?) {
        let word = text.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        guard let at = word.firstIndex(of: "@") else { return (word, nil) }
        return (String(word[..<at]), String(word[word.index(after: at)...]))
    }

    /// What `config check` should say about Telegram commands.
    public static func telegramConfigWarnings(_ config: GobotConfig) -> [String] {
        guard config.telegram.enabled, config.telegram.pollCommands, config.telegram.allowedUserIds.isEmpty else { return [] }
        return ["telegram.allowed_user_ids is empty: Telegram commands (/halt, /resume, /status, /report) are ignored; "
                + "list your Telegram user id (message @userinfobot to learn it) to use them"]
    }

    /// Reads bot commands (/status, /halt, /resume, /report) by polling getUpdates. Only users in
    /// `telegram.allowed_user_ids`, writing in the configured chat, are obeyed (a group's other
    /// members are not); a command addressed to another bot is not for us; stale commands are
    /// ignored, and the offset is stored so an update is handled once.
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
        // The bot's username, only when a command names a bot, once per state directory.
        // Keyed by the bot's id (the token's public part before ":"), so a new token asks again.
        let usernameKey = "\(telegramUsernameKey).\(ctx.secrets.telegramToken?.split(separator: ":").first ?? "")"
        var username = try ctx.db.value(forKey: usernameKey)
        if username == nil, updates.contains(where: { Self.commandParts($0.text).bot != nil }) {
            do { username = try await telegram.botUsername() } catch let e as TelegramError {
                throw StepError.tryLater("telegram: cannot tell which bot a command is for: \(e)")
            }
            try ctx.db.setValue(username!, forKey: usernameKey, atMs: ctx.nowMs)
        }
        let allowed = Set(ctx.config.telegram.allowedUserIds)
        var handled: [String] = []
        for u in updates.sorted(by: { $0.updateId < $1.updateId }) {
            defer { try? ctx.db.setValue(String(u.updateId), forKey: telegramOffsetKey, atMs: ctx.nowMs) }
            guard u.chatId == chat else { handled.append("ignored update \(u.updateId) from another chat"); continue }
            guard let from = u.fromId, allowed.contains(from) else {
                handled.append(allowed.isEmpty ? "ignored update \(u.updateId): telegram.allowed_user_ids is empty"
                                               : "ignored update \(u.updateId) from user \(u.fromId.map(String.init) ?? "unknown"), not in telegram.allowed_user_ids")
                continue
            }
            let ageSeconds = ctx.nowMs / 1000 - u.dateSeconds
            guard ageSeconds <= Int64(ctx.config.telegram.maxCommandAgeSeconds) else {
                handled.append("ignored stale \(u.text) (\(ageSeconds) s old)")
                continue
            }
            let parts = Self.commandParts(u.text)
            if let bot = parts.bot, bot.lowercased() != username?.lowercased() {
                handled.append("ignored \(parts.command)@\(bot.prefix(40)): addressed to another bot")
                continue
            }
            let command = parts.command
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
