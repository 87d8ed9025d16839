import COpenSSL
import Foundation

/// HMAC-SHA256, as Binance's SIGNED endpoints require, through the system's libcrypto.
public enum HMACSHA256 {
    public static func mac(key: some ContiguousBytes, message: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                let result = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                  m.count, &out, &length)
                precondition(result != nil, "libcrypto HMAC-SHA256 failed")
            }
        }
        return Array(out.prefix(Int(length)))
    }

    public static func hex(key: String, message: String) -> String {
        mac(key: Data(key.utf8), message: Data(message.utf8)).hexString
    }
}
