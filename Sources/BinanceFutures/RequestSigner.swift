import Digest
import Foundation

/// HMAC-SHA256 over the exact query string that is sent, as Binance's SIGNED endpoints require.
public struct RequestSigner: Sendable {
    let key: Data

    public init(secret: String) { key = Data(secret.utf8) }

    public func signature(for payload: String) -> String {
        HMACSHA256.mac(key: key, message: Data(payload.utf8)).hexString
    }
}

/// Builds query strings in the given order with form-style percent encoding.
public enum QueryString {
    static let allowed: CharacterSet = {
        var s = CharacterSet.alphanumerics
        s.insert(charactersIn: "-._~")
        return s
    }()

    public static func encode(_ params: [(String, String)]) -> String {
        params.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    public static func decode(_ query: String) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? String(parts[1]) : ""
            return (String(parts[0]), value)
        }
    }
}
