import FlyingFox
import FlyingSocks
import Foundation

/// A loopback HTTP server that answers from a script, in order, and records what it was sent.
/// Used as the fake OpenAI-compatible endpoint and the fake Telegram Bot API.
public actor ScriptedServer {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        public init(status: Int = 200, headers: [String: String] = [:], body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }
        public static func json(_ status: Int = 200, _ text: String, headers: [String: String] = [:]) -> Reply {
            Reply(status: status, headers: headers, body: Data(text.utf8))
        }
    }

    public struct Received: Sendable {
        public var method: String
        public var path: String
        public var query: String
        public var headers: [String: String]
        public var body: Data
    }

    let server: HTTPServer
    var task: Task<Void, any Error>?
    var script: [Reply] = []
    /// Answer for requests once the script is used up.
    public var fallback: Reply = .json(500, #"{"error":{"message":"script exhausted","type":"server_error","param":null,"code":null}}"#)
    public private(set) var received: [Received] = []
    /// Answers from the request itself once the script is used up (nil: the fallback answers).
    var responder: (@Sendable (Received) -> Reply?)?

    public init() throws {
        server = try LoopbackHTTP.makeServer()
    }

    public func start() async throws -> String {
        let started = try await LoopbackHTTP.start(server) { [weak self] request in
            guard let self else { return HTTPResponse(statusCode: .internalServerError) }
            let body = try await request.bodyData
            return await self.answer(request, body: body)
        }
        task = started.task
        return started.url
    }

    public func stop() async {
        await server.stop()
        task?.cancel()
    }

    public func enqueue(_ replies: Reply...) { script += replies }
    public func setFallback(_ reply: Reply) { fallback = reply }
    public func setResponder(_ r: @escaping @Sendable (Received) -> Reply?) { responder = r }

    func answer(_ request: HTTPRequest, body: Data) -> HTTPResponse {
        var headers: [String: String] = [:]
        for (k, v) in request.headers { headers[k.rawValue.lowercased()] = v }
        let r = Received(method: request.method.rawValue, path: request.path, query: request.target.query(), headers: headers, body: body)
        received.append(r)
        let reply = script.isEmpty ? (responder?(r) ?? fallback) : script.removeFirst()
        var h = HTTPHeaders()
        h[HTTPHeader("Content-Type")] = "application/json"
        for (k, v) in reply.headers { h[HTTPHeader(k)] = v }
        return HTTPResponse(statusCode: HTTPStatusCode(reply.status, phrase: "Scripted"), headers: h, body: reply.body)
    }
}
