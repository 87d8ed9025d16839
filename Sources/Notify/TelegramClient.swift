import GobotHTTP
import Foundation

/// What a Telegram call came to, mapped to what the outbox should do next.
public enum TelegramError: Error, Sendable, Equatable, CustomStringConvertible {
    case unauthorized
    case forbidden(String)
    case badRequest(String)
    case conflict(String)
    case floodWait(seconds: Int)
    case unavailable(String)

    public var description: String {
        switch self {
        case .unauthorized: "Telegram rejected TELEGRAM_TOKEN (401 Unauthorized)"
        case .forbidden(let m): "Telegram refused: \(m)"
        case .badRequest(let m): "Telegram bad request: \(m)"
        case .conflict(let m): "another getUpdates poller is running: \(m)"
        case .floodWait(let s): "Telegram flood control: retry after \(s) s"
        case .unavailable(let m): "Telegram unavailable: \(m)"
        }
    }
}

/// A command read from the bot's chat.
public struct TelegramUpdate: Sendable, Equatable {
    public var updateId: Int64
    public var chatId: Int64
    /// `message.from.id`: who sent it. In a group every member shares the chat id, so commands
    /// are authorised on this, never on the chat. Nil for channel posts and anonymous admins.
    public var fromId: Int64?
    public var dateSeconds: Int64
    public var text: String

    public init(updateId: Int64, chatId: Int64, fromId: Int64?, dateSeconds: Int64, text: String) {
        self.updateId = updateId
        self.chatId = chatId
        self.fromId = fromId
        self.dateSeconds = dateSeconds
        self.text = text
    }
}

/// The Bot API methods gobot uses. The token is part of the URL path, so no error or log line
/// ever includes the URL.
public struct TelegramClient: Sendable {
    let baseURL: String
    let token: String
    let transport: any HTTPTransport

    public init(baseURL: String, token: String, transport: any HTTPTransport) {
        self.baseURL = baseURL
        self.token = token
        self.transport = transport
    }

    func call(_ method: String, json: [String: Any]) async throws -> Any? {
        let body = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        return try await send(HTTPRequestData(method: "POST", url: "\(baseURL)/bot\(token)/\(method)", headers: ["Content-Type": "application/json"], body: body))
    }

    func send(_ request: HTTPRequestData) async throws -> Any? {
        let response: HTTPResponseData
        do { response = try await transport.send(request) } catch { throw TelegramError.unavailable("\(error)") }
        let obj = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        if response.status == 200, obj?["ok"] as? Bool == true { return obj?["result"] }
        let description = obj?["description"] as? String ?? "HTTP \(response.status)"
        let retryAfter = (obj?["parameters"] as? [String: Any])?["retry_after"] as? Int
        switch response.status {
        case 401: throw TelegramError.unauthorized
        case 403: throw TelegramError.forbidden(description)
        case 400: throw TelegramError.badRequest(description)
        case 409: throw TelegramError.conflict(description)
        case 429: throw TelegramError.floodWait(seconds: retryAfter ?? 5)
        default: throw TelegramError.unavailable(description)
        }
    }

    /// Sends HTML text; if Telegram cannot parse the entities, sends it once more as plain text
    /// so the alert is not lost.
    public func sendMessage(chatId: String, html: String) async throws {
        do {
            _ = try await call("sendMessage", json: ["chat_id": chatId, "text": html, "parse_mode": "HTML", "link_preview_options": ["is_disabled": true]])
        } catch TelegramError.badRequest(let m) where m.contains("can't parse entities") {
            _ = try await call("sendMessage", json: ["chat_id": chatId, "text": html])
        }
    }

    public func sendPhoto(chatId: String, png: Data, caption: String) async throws {
        let boundary = "gobot-\(png.count)-\(caption.count)"
        var body = Data()
        func field(_ name: String, _ value: String) {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        field("chat_id", chatId)
        field("caption", String(caption.prefix(1024)))
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"equity.png\"\r\nContent-Type: image/png\r\n\r\n".utf8))
        body.append(png)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        _ = try await send(HTTPRequestData(method: "POST", url: "\(baseURL)/bot\(token)/sendPhoto",
                                           headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"], body: body))
    }

    public func getUpdates(offset: Int64?, timeoutSeconds: Int) async throws -> [TelegramUpdate] {
        var params: [String: Any] = ["timeout": timeoutSeconds, "allowed_updates": ["message"], "limit": 100]
        if let offset { params["offset"] = offset }
        let result = try await call("getUpdates", json: params) as? [[String: Any]] ?? []
        return result.compactMap { u in
            guard let id = (u["update_id"] as? NSNumber)?.int64Value else { return nil }
            let m = u["message"] as? [String: Any]
            let chat = ((m?["chat"] as? [String: Any])?["id"] as? NSNumber)?.int64Value ?? 0
            let from = ((m?["from"] as? [String: Any])?["id"] as? NSNumber)?.int64Value
            return TelegramUpdate(updateId: id, chatId: chat, fromId: from, dateSeconds: (m?["date"] as? NSNumber)?.int64Value ?? 0,
                                  text: m?["text"] as? String ?? "")
        }
    }

    /// The bot's own username (without "@"), to tell `/halt@this_bot` from `/halt@another_bot`.
    public func botUsername() async throws -> String {
        let me = try await call("getMe", json: [:]) as? [String: Any]
        guard let name = me?["username"] as? String, !name.isEmpty else { throw TelegramError.unavailable("getMe gave no username") }
        return name
    }

    /// Splits text into messages of at most `limit` UTF-16 units, on line boundaries where possible.
    public static func split(_ text: String, limit: Int = 4096) -> [String] {
        var parts: [String] = [], current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(line)
            while line.utf16.count > limit {
                let head = String(line.prefix(limit / 2))
                if !current.isEmpty { parts.append(current); current = "" }
                parts.append(head)
                line = String(line.dropFirst(head.count))
            }
            let candidate = current.isEmpty ? line : current + "\n" + line
            if candidate.utf16.count > limit {
                parts.append(current)
                current = line
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    public static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
