import COpenSSL
import Foundation

/// SHA-256 through the system's libcrypto, fed in pieces (chart bytes, prompts, audit rows).
public struct SHA256Digest: ~Copyable {
    private let ctx: OpaquePointer

    public init() {
        guard let c = EVP_MD_CTX_new(), EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto could not initialise SHA-256")
        }
        ctx = c
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public mutating func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            precondition(EVP_DigestUpdate(ctx, base, raw.count) == 1, "libcrypto SHA-256 update failed")
        }
    }

    public mutating func update(_ text: String) { update(Data(text.utf8)) }

    /// The 32-byte digest; the hasher is spent.
    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &length) == 1, "libcrypto SHA-256 final failed")
        return Array(out.prefix(Int(length)))
    }

    public static func hash(_ bytes: some ContiguousBytes) -> [UInt8] {
        var h = SHA256Digest()
        h.update(bytes)
        return h.finalize()
    }

    public static func hex(_ bytes: some ContiguousBytes) -> String { hash(bytes).hexString }
}

extension Sequence<UInt8> {
    /// Lower-case hex, two digits a byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
