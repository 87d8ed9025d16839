import Foundation
import Testing
@testable import BinanceFutures
import Digest

@Suite struct SigningTests {
    @Test func binanceDocumentedHMACTestVector() {
        let signer = RequestSigner(secret: "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9")
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
        #expect(signer.signature(for: payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9")
    }

    /// FIPS 180-2 vectors, also fed in pieces: the audit chain and the vision cache key hash this way.
    @Test func sha256KnownVectors() {
        #expect(SHA256Digest.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var h = SHA256Digest()
        h.update("abcdbcdecdefdefgefghfghighij")
        h.update(Array("hijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(h.finalize().hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func queryStringKeepsOrderAndEncodes() {
        #expect(QueryString.encode([("symbol", "BTCUSDT"), ("quantity", "0.001"), ("id", "a b/c")]) == "symbol=BTCUSDT&quantity=0.001&id=a%20b%2Fc")
        #expect(QueryString.decode("a=1&b=x%20y").map { "\($0.0)=\($0.1)" } == ["a=1", "b=x y"])
    }
}
