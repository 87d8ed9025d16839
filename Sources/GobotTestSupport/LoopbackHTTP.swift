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
/// thread) keeps running. With 60 s the client gave up, the analyst retried, and the fake
/// later saw more requests than it was scripted for ("script exhausted" in
/// VisionAnalystTests, a Telegram test failing after its timeout). The step-pipeline backtest
/// now yields once per cycle, which keeps the pool fair; the fakes themselves cannot leave the
/// pool (FlyingFox decodes each request in an unstructured task, which no task-executor
/// preference follows), so clients and `waitUntilListening` also wait as long as a loaded run
/// may take instead of 60 s and 5 s.
public enum LoopbackTiming {
    public static let patientTimeoutSeconds: Double = 600
}

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
        try await server.waitUntilListening(timeout: LoopbackTiming.patientTimeoutSeconds)
        guard case .ip4(_, let port) = await server.listeningAddress else { throw SocketError.unsupportedAddress }
        return (task, "http://127.0.0.1:\(port)", port)
    }
}
