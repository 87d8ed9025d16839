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

    public init(method: String, url: String, headers: [String: String] = [:], body: Data? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
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

/// Why no response arrived. A timeout may hide a request that took effect; a refused
/// connection cannot.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case timeout
    case connection(String)

    public var description: String {
        switch self {
        case .timeout: "request timed out"
        case .connection(let m): "connection failed: \(m)"
        }
    }
}

/// The HTTP seam: the Binance client, the vision analyst and Telegram all send through it.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequestData) async throws -> HTTPResponseData
}

/// HTTPS through URLSession (libcurl on Linux).
public struct URLSessionTransport: HTTPTransport {
    let session: URLSession

    public init(timeoutSeconds: Double) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeoutSeconds
        config.timeoutIntervalForResource = timeoutSeconds
        config.httpAdditionalHeaders = ["User-Agent": "gobot/1.0"]
        session = URLSession(configuration: config)
    }

    public func send(_ request: HTTPRequestData) async throws -> HTTPResponseData {
        guard let url = URL(string: request.url) else { throw TransportError.connection("invalid URL") }
        var r = URLRequest(url: url)
        r.httpMethod = request.method
        r.httpBody = request.body
        for (k, v) in request.headers { r.setValue(v, forHTTPHeaderField: k) }
        do {
            let (data, response) = try await session.data(for: r)
            guard let http = response as? HTTPURLResponse else { throw TransportError.connection("not an HTTP response") }
            var headers: [String: String] = [:]
            for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
            return HTTPResponseData(status: http.statusCode, headers: headers, body: data)
        } catch let error as URLError {
            // Only the code travels on: the URL may carry a signature.
            if error.code == .timedOut { throw TransportError.timeout }
            throw TransportError.connection("URLError \(error.code.rawValue)")
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError.connection("\(type(of: error))")
        }
    }
}
