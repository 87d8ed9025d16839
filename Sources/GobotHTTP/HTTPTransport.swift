import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange as plain values, so tests can record and inspect requests.
public struct HTTPRequestData: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: Data?
    /// The request changes something that must not happen twice (an order). It goes on a new
    /// connection of its own that is closed afterwards: libcurl re-sends a request on a fresh
    /// connection when a *reused* keep-alive connection dies before any answer, so a request
    /// that never rides a reused connection is never re-sent behind gobot's back.
    public var mustNotResend: Bool

    public init(method: String, url: String, headers: [String: String] = [:], body: Data? = nil, mustNotResend: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.mustNotResend = mustNotResend
    }
}

public struct HTTPResponseData: Sendable, Equatable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.body = body
    }
}

/// Why no response arrived. A timeout or a connection lost mid-flight may hide a request that
/// took effect; a connection that was never made cannot.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case timeout
    /// The request may have reached the server (reset, EOF, TLS failure, anything unclassified).
    case connection(String)
    /// Nothing was sent: the name did not resolve, the connection was refused, the URL was bad.
    case notSent(String)

    public var description: String {
        switch self {
        case .timeout: "request timed out"
        case .connection(let m): "connection failed: \(m)"
        case .notSent(let m): "could not connect: \(m)"
        }
    }

    /// True when the request provably never left this process.
    public var provesNothingSent: Bool { if case .notSent = self { true } else { false } }
}

/// The HTTP seam: the Binance client, the vision analyst and Telegram all send through it.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequestData) async throws -> HTTPResponseData
}

/// HTTPS through URLSession (libcurl on Linux).
///
/// Ordinary requests share one session and its keep-alive connections. A request marked
/// ``HTTPRequestData/mustNotResend`` gets a session of its own: libcurl keeps its connection
/// pool per multi handle, which FoundationNetworking creates per session, so that request
/// always travels on a brand-new connection (libcurl only retries on a reused one), and
/// `Connection: close` leaves nothing behind to reuse.
public struct URLSessionTransport: HTTPTransport {
    let session: URLSession
    let configuration: URLSessionConfiguration

    public init(timeoutSeconds: Double) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeoutSeconds
        config.timeoutIntervalForResource = timeoutSeconds
        config.httpAdditionalHeaders = ["User-Agent": "gobot/1.0"]
        configuration = config
        session = URLSession(configuration: config)
    }

    public func send(_ request: HTTPRequestData) async throws -> HTTPResponseData {
        guard let url = URL(string: request.url) else { throw TransportError.notSent("invalid URL") }
        var r = URLRequest(url: url)
        r.httpMethod = request.method
        r.httpBody = request.body
        for (k, v) in request.headers { r.setValue(v, forHTTPHeaderField: k) }
        let session: URLSession
        if request.mustNotResend {
            r.setValue("close", forHTTPHeaderField: "Connection")
            let config = configuration.copy() as! URLSessionConfiguration  // swiftlint:disable:this force_cast
            config.httpMaximumConnectionsPerHost = 1
            config.httpShouldUsePipelining = false
            session = URLSession(configuration: config)
        } else {
            session = self.session
        }
        defer { if request.mustNotResend { session.finishTasksAndInvalidate() } }
        do {
            let (data, response) = try await session.data(for: r)
            guard let http = response as? HTTPURLResponse else { throw TransportError.connection("not an HTTP response") }
            var headers: [String: String] = [:]
            for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
            return HTTPResponseData(status: http.statusCode, headers: headers, body: data)
        } catch let error as URLError {
            throw Self.classify(error.code)
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError.connection("\(type(of: error))")
        }
    }

    /// Only the code travels on: the URL may carry a signature. Everything not known to fail
    /// before the first byte is sent counts as "may have been sent".
    static func classify(_ code: URLError.Code) -> TransportError {
        switch code {
        case .timedOut: .timeout
        case .cannotFindHost, .dnsLookupFailed, .cannotConnectToHost, .badURL, .unsupportedURL, .notConnectedToInternet:
            .notSent("URLError \(code.rawValue)")
        default: .connection("URLError \(code.rawValue)")
        }
    }
}
