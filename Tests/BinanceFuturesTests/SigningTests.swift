import Foundation
import Testing
@testable import BinanceFutures

@Suite struct SigningTests {
    @Test func binanceDocumentedHMACTestVector() {
        let signer = RequestSigner(secret: "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9")
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
        #expect(signer.signature(for: payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9")
    }

    @Test func queryStringKeepsOrderAndEncodes() {
        #expect(QueryString.encode([("symbol", "BTCUSDT"), ("quantity", "0.001"), ("id", "a b/c")]) == "symbol=BTCUSDT&quantity=0.001&id=a%20b%2Fc")
        #expect(QueryString.decode("a=1&b=x%20y").map { "\($0.0)=\($0.1)" } == ["a=1", "b=x y"])
    }
}
