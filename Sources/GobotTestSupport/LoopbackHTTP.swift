import FlyingFox
import FlyingSocks
import Foundation

/// How long a test's HTTP client waits for a loopback fake before giving up, when the timeout
/// itself is not what the test is about.
///
/// The fakes and the code under test share Swift's cooperative pool, one thread per core (two
/// here). In the full parallel run, CPU-bound tests (backtests over the step pipeline, with
/// synchronous database work and no suspension point) hold both threads for minutes on a
/// loaded machine; meanwhile no fake can accept or answer, while libcurl's timer (on its own
/// thread) keeps running, and so does FlyingFox's own handler timeout. With 60 s on the client
/// and 30 s on the server, one side gave up, the client retried, and the fake later saw more
/// requests than it was scripted for ("script exhausted" in
/// VisionAnalystTests, a Telegram test failing after its timeout). The step-pipeline backtest
/// now yields once per cycle, which keeps the pool fair; the fakes themselves cannot leave the
/// pool (FlyingFox decodes each request in an unstructured task, which no task-executor
/// preference follows), so clients, handlers and `waitUntilListening` wait as long as a loaded
/// run may take instead of 60 s, 30 s and 5 s.
public enum LoopbackTiming {
    public static let patientTimeoutSeconds: Double = 600
}

/// Starts a FlyingFox server on 127.0.0.1 with an ephemeral port, routing every request to
/// `handler`; returns the running task and the base URL. Shared by the fakes.
enum LoopbackHTTP {
    static func makeServer() throws -> HTTPServer {
        // FlyingFox answers a bare 500 when a handler takes longer than `timeout`, while the
        // handler itself still runs to the end; on a starved pool 30 s was reached, the client
        // retried the 500, and the late handler had already used the scripted answer.
        HTTPServer(address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: LoopbackTiming.patientTimeoutSeconds)
    }

    static func start(_ server: HTTPServer, handler: @Sendable @escaping (HTTPRequest) async throws -> HTTPResponse)
        async throws -> (task: Task<Void, any Error>, url: String, port: UInt16) {
        await server.appendRoute("*", handler: handler)
        let task = Task { try await server.run() }
        try await server.waitUntilListening(timeout: LoopbackTiming.patientTimeoutSeconds)
        guard case .ip4(_, let port) = await server.listeningAddress else { throw SocketError.unsupportedAddress }
        return (task, "http://127.0.0.1:\(port)", port)
    }
}
