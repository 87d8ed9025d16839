import BinanceFutures
import Foundation
import GobotCore
import GobotHTTP
import GobotStore
import GobotTestSupport
import Notify
import Testing
@testable import GobotSteps

/// Outbox delivery and bot commands against a scripted loopback Telegram.
@Suite(.serialized) struct TelegramTests {
    struct Setup {
        let server: ScriptedServer
        let db: GobotDatabase
        let clock: ManualClock
        var ctx: StepContext
    }

    static let ok = ScriptedServer.Reply.json(200, #"{"ok":true,"result":{"message_id":1}}"#)
    static let getMe = ScriptedServer.Reply.json(200, #"{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"gobot","username":"gobot_bot"}}"#)

    func setUp() async throws -> Setup {
        let server = try ScriptedServer()
        let url = try await server.start()
        let db = try GobotDatabase.inMemory()
        let clock = ManualClock(ms: 1_764_000_000_000)
        var config = GobotConfig()
        config.telegram.enabled = true
        config.telegram.allowedUserIds = [111111111]
        let telegram = TelegramClient(baseURL: url, token: "123456:TEST-token-for-loopback", transport: URLSessionTransport(timeoutSeconds: LoopbackTiming.patientTimeoutSeconds))
        let ctx = StepContext(config: config, db: db, paths: StepPaths(stateDir: "/nonexistent"), clock: clock,
                              secrets: Secrets(environment: ["TELEGRAM_TOKEN": "123456:TEST-token-for-loopback", "TELEGRAM_CHAT_ID": "111111111"]),
                              step: .report, exchange: nil, telegram: telegram)
        return Setup(server: server, db: db, clock: clock, ctx: ctx)
    }

    @Test func floodControlIsHonouredAndNothingIsLostOrSentTwice() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        Alerts.send(s.ctx, kind: "trade_opened", key: "a", text: "opened long XRPUSDT <qty 5> & more")
        Alerts.send(s.ctx, kind: "trade_closed", key: "b", text: "closed")
        Alerts.send(s.ctx, kind: "trade_closed", key: "b", text: "closed (duplicate event)")
        await s.server.enqueue(Self.ok, .json(429, #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#))
        let first = await OutboxSender.flush(s.ctx)
        #expect(first.sent == 1 && first.pending == 1)
        let sent = try #require(await s.server.received.first)
        #expect(sent.path == "/bot123456:TEST-token-for-loopback/sendMessage")
        let body = try #require(try JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
        #expect(body["text"] as? String == "opened long XRPUSDT &lt;qty 5&gt; &amp; more" && body["parse_mode"] as? String == "HTML")
        // Too early: nothing is tried.
        s.clock.advance(ms: 6_000)
        #expect(await OutboxSender.flush(s.ctx).sent == 0)
        #expect(await s.server.received.count == 2)
        s.clock.advance(ms: 1_000)
        await s.server.enqueue(Self.ok)
        #expect(await OutboxSender.flush(s.ctx).sent == 1)
        #expect(await OutboxSender.flush(s.ctx).sent == 0)
        #expect(await s.server.received.count == 3)
        #expect(try s.db.outbox().map(\.status) == ["sent", "sent"])
    }

    @Test func unparsableEntitiesAreResentAsPlainText() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        Alerts.send(s.ctx, kind: "report", key: "r", text: "P&L +1.5")
        await s.server.enqueue(.json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Unsupported start tag"}"#), Self.ok)
        #expect(await OutboxSender.flush(s.ctx).sent == 1)
        let second = try #require(await s.server.received.last)
        let body = try #require(try JSONSerialization.jsonObject(with: second.body) as? [String: Any])
        #expect(body["parse_mode"] == nil)
    }

    @Test func longTextIsSplitAt4096UTF16Units() {
        let line = String(repeating: "é", count: 100)
        let parts = TelegramClient.split(Array(repeating: line, count: 100).joined(separator: "\n"))
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { $0.utf16.count <= 4096 })
        #expect(parts.joined(separator: "\n") == Array(repeating: line, count: 100).joined(separator: "\n"))
    }

    @Test func commandsOnlyFromTheConfiguredChatAndNotStale() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        let now = s.clock.nowMs() / 1000
        func update(_ id: Int, chat: Int, age: Int64, text: String) -> String {
            #"{"update_id":\#(id),"message":{"message_id":\#(id),"from":{"id":\#(chat),"is_bot":false,"first_name":"T"},"chat":{"id":\#(chat),"type":"private"},"date":\#(now - age),"text":"\#(text)","entities":[{"offset":0,"length":\#(text.count),"type":"bot_command"}]}}"#
        }
        await s.server.enqueue(.json(200, #"{"ok":true,"result":["# + [
            update(10, chat: 111111111, age: 5, text: "/halt"),
            update(11, chat: 999, age: 5, text: "/resume"),
            update(12, chat: 111111111, age: 3600, text: "/resume"),
            update(13, chat: 111111111, age: 2, text: "/status@gobot_bot"),
        ].joined(separator: ",") + "]}"), Self.getMe)
        let report = try await Steps.telegramCommands(s.ctx)
        #expect(report.message.contains("4 updates"))
        let halt = try s.db.haltState()
        #expect(halt.halted && halt.reason == "Telegram /halt" && halt.actor == "telegram")
        #expect(try s.db.value(forKey: Steps.telegramOffsetKey) == "13")
        #expect(try s.db.outbox().map(\.kind) == ["halt", "status"])
        // The next poll confirms them with offset 14 and nothing is handled twice.
        await s.server.enqueue(.json(200, #"{"ok":true,"result":[]}"#))
        _ = try await Steps.telegramCommands(s.ctx)
        let last = try #require(await s.server.received.last)
        let body = try #require(try JSONSerialization.jsonObject(with: last.body) as? [String: Any])
        #expect((body["offset"] as? NSNumber)?.int64Value == 14)
        #expect(try s.db.outbox().count == 2)
    }
}

extension TelegramTests {
    @Test func theReportSendsTheEquityChartAsAPhoto() async throws {
        var s = try await setUp()
        let server = s.server
        defer { Task { await server.stop() } }
        let dir = TempDir()
        s.ctx.paths = StepPaths(stateDir: dir.path)
        try s.db.addLedger(atMs: s.clock.nowMs() - 3_600_000, symbol: "XRPUSDT", kind: "realized_pnl", amount: Decimal(string: "0.4")!, positionId: nil, ref: "t1")
        try s.db.addLedger(atMs: s.clock.nowMs() - 1_800_000, symbol: "XRPUSDT", kind: "commission", amount: Decimal(string: "-0.01")!, positionId: nil, ref: "t2")
        _ = try await Steps.report(s.ctx)
        await s.server.enqueue(Self.ok, Self.ok)
        #expect(await OutboxSender.flush(s.ctx).sent == 2)
        let photo = try #require(await s.server.received.last)
        #expect(photo.path.hasSuffix("/sendPhoto"))
        #expect(photo.headers["content-type"]?.hasPrefix("multipart/form-data; boundary=") == true)
        let body = photo.body
        #expect(body.range(of: Data("name=\"photo\"; filename=\"equity.png\"".utf8)) != nil)
        #expect(body.range(of: Data([0x89, 0x50, 0x4E, 0x47])) != nil)  // the PNG itself
        let text = try #require(await s.server.received.first)
        let json = try #require(try JSONSerialization.jsonObject(with: text.body) as? [String: Any])
        #expect((json["text"] as? String)?.contains("equity: 100.39 USD") == true)
    }
}

/// Issue #9 item 10: who may command the bot, and which bot a command is for.
extension TelegramTests {
    static func update(_ id: Int, chat: Int64 = 111111111, from: Int64?, ageSeconds: Int64 = 5, text: String, now: Int64) -> String {
        let sender = from.map { #""from":{"id":\#($0),"is_bot":false,"first_name":"T"},"# } ?? ""
        return #"{"update_id":\#(id),"message":{"message_id":\#(id),"# + sender + #""chat":{"id":\#(chat),"type":"group"},"date":\#(now - ageSeconds),"text":"\#(text)"}}"#
    }

    @Test func onlyAllowedUsersCommandAndOnlyThisBotsCommandsAreObeyed() async throws {
        let s = try await setUp()
        defer { Task { await s.server.stop() } }
        let now = s.clock.nowMs() / 1000
        try s.db.setHalted(true, reason: "test", actor: "test", atMs: s.clock.nowMs())
        await s.server.enqueue(.json(200, #"{"ok":true,"result":["# + [
            Self.update(20, from: 222, text: "/resume", now: now),                  // another member of the group
            Self.update(21, from: nil, text: "/resume", now: now),                  // an anonymous admin or channel post
            Self.update(22, from: 111111111, text: "/resume@SomeOtherBot", now: now),
        ].joined(separator: ",") + "]}"), Self.getMe)
        let report = try await Steps.telegramCommands(s.ctx)
        #expect(try s.db.haltState().halted)
        #expect(report.message.contains("from user 222, not in telegram.allowed_user_ids") && report.message.contains("addressed to another bot"))
        #expect(try s.db.outbox().isEmpty)
        // The owner's command to this bot (any case) is obeyed; the username is not asked for again.
        await s.server.enqueue(.json(200, #"{"ok":true,"result":["# + Self.update(23, from: 111111111, text: "/resume@GoBot_Bot", now: now) + "]}"))
        _ = try await Steps.telegramCommands(s.ctx)
        #expect(try !s.db.haltState().halted)
        #expect(await s.server.received.filter { $0.path.hasSuffix("/getMe") }.count == 1)
        #expect(try s.db.outbox().map(\.kind) == ["resume"])
    }

    @Test func withNoAllowedUsersNoCommandIsObeyedAndConfigCheckSaysSo() async throws {
        var s = try await setUp()
        let server = s.server
        defer { Task { await server.stop() } }
        s.ctx.config.telegram.allowedUserIds = []
        let now = s.clock.nowMs() / 1000
        await s.server.enqueue(.json(200, #"{"ok":true,"result":["# + Self.update(30, from: 111111111, text: "/halt", now: now) + "]}"))
        let report = try await Steps.telegramCommands(s.ctx)
        #expect(try !s.db.haltState().halted)
        #expect(report.message.contains("telegram.allowed_user_ids is empty"))
        #expect(Steps.telegramConfigWarnings(s.ctx.config).first?.contains("telegram.allowed_user_ids is empty") == true)
        var configured = s.ctx.config
        configured.telegram.allowedUserIds = [111111111]
        #expect(Steps.telegramConfigWarnings(configured).isEmpty)
    }

    @Test func allowedUserIdsIsAListOfPositiveIntegers() throws {
        let ok = try ConfigLoader.parse("telegram:\n  enabled: true\n  allowed_user_ids: [123456789, 42]\n", file: "c.yaml")
        #expect(ok.telegram.allowedUserIds == [123456789, 42])
        #expect(try ConfigLoader.parse("telegram:\n  enabled: true\n", file: "c.yaml").telegram.allowedUserIds.isEmpty)
        do {
            _ = try ConfigLoader.parse("telegram:\n  allowed_user_ids: [123, \"@me\"]\n", file: "c.yaml")
            Issue.record("expected a config error")
        } catch {
            #expect("\(error)".contains("telegram.allowed_user_ids") && "\(error)".contains("is not a user id"))
        }
    }
}
