import FlyingFox
import FlyingSocks
import Foundation

/// Starts a FlyingFox server on 127.0.0.1 with an ephemeral port, routing every request to
/// `handler`; returns the running task and the base URL. Shared by the fakes.
enum LoopbackHTTP {
    static func makeServer() throws -> HTTPServer {
        HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 30)
    }

    static func start(_ server: HTTPServer, handler: @Sendable @escaping (HTTPRequest) async throws -> HTTPResponse)
        async throws -> (task: Task<Void, any Error>, url: String, port: UInt16) {
        await server.appendRoute("*", handler: handler)
        let task = Task { try await server.run() }
        try await server.waitUntilListening()
        guard case .ip4(_, let port) = await server.listeningAddress else { throw SocketError.unsupportedAddress }
        return (task, "http://127.0.0.1:\(port)", port)
    }
}
