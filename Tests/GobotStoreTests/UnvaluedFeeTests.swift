import Foundation
import GobotCore
import GobotStore
import GRDB
import Testing

/// A fee a closed position left out waits under `fees_unvalued_<id>` with the id of its fill, and
/// its commission record is matched to it by that id: the record's time is not documented to be
/// the fill's, and a fee the close valued can have the asset and amount of one it left out
/// (review 10, L3; review 12, M1).
@Suite struct UnvaluedFeeTests {
    static let bnb = Decimal(string: "0.004875")!

    /// A closed position with these fees left out, as the close writes it.
    func closedPosition(_ db: GobotDatabase, unvalued: [UnvaluedFee]) throws -> Int64 {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO positions (symbol, side, quantity, entry_price, stop_price, target_price, notional_usd, status, opened_at_ms)
                VALUES ('XRPUSDT', 'long', '5', '2', '1.95', '2.1', '10', 'open', 1)
                """)
        }
        try db.closePosition(id: 1, exitPrice: Decimal(string: "1.95")!, reason: "stop-loss", realizedPnl: Decimal(string: "-0.25")!, fees: 0, atMs: 100,
                             unvaluedFees: unvalued)
        return 1
    }

    @Test func theTradeIdDecidesWhenBothHaveOne() {
        let waiting = [UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41"),
                       UnvaluedFee(timeMs: 20, asset: "BNB", amount: Self.bnb, tradeId: "42")]
        // A millisecond off its fill, the record is still that fill's fee.
        #expect(UnvaluedFee(timeMs: 21, asset: "BNB", amount: Self.bnb, tradeId: "42").match(in: waiting) == .fee(at: 1))
        // The time, asset and amount of a waiting fee, but another fill: not it, and not a lookalike either.
        #expect(UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "43").match(in: waiting) == .none)
    }

    @Test func withoutATradeIdOnEitherSideTheTimeAssetAndAmountDecide() {
        let old = [UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb)]  // a key written before trade ids were kept
        #expect(UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41").match(in: old) == .fee(at: 0))
        #expect(UnvaluedFee(timeMs: 11, asset: "BNB", amount: Self.bnb, tradeId: "41").match(in: old) == .lookalike)
        let withIds = [UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41")]
        #expect(UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb).match(in: withIds) == .fee(at: 0))
        #expect(UnvaluedFee(timeMs: 11, asset: "BNB", amount: Self.bnb).match(in: withIds) == .lookalike)
        #expect(UnvaluedFee(timeMs: 11, asset: "USDT", amount: Self.bnb).match(in: withIds) == .none)
        #expect(UnvaluedFee(timeMs: 11, asset: "BNB", amount: Self.bnb * 2).match(in: withIds) == .none)
        #expect(UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb * 2).match(in: old) == .none)
    }

    /// The close writes each fee with its fill's id; reconcile reads it back the same.
    @Test func theKeyKeepsEachFeesTradeIdAndReadsAKeyWrittenWithout() throws {
        let db = try GobotDatabase.inMemory()
        let fees = [UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "82357626"), UnvaluedFee(timeMs: 20, asset: "BNB", amount: Self.bnb)]
        let id = try closedPosition(db, unvalued: fees)
        #expect(try db.value(forKey: UnvaluedFee.key(positionId: id)) == "10 BNB 0.004875 82357626\n20 BNB 0.004875")
        #expect(try db.unvaluedFees(positionId: id) == fees)
    }

    /// The commission record of the first fill, a millisecond late: booked once, it values that
    /// fee into the position's fees; booked again (the same ref), nothing more.
    @Test func aCommissionBookedWithItsFillsTradeIdValuesThatFeeOnce() throws {
        let db = try GobotDatabase.inMemory()
        let id = try closedPosition(db, unvalued: [UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41"),
                                                   UnvaluedFee(timeMs: 20, asset: "BNB", amount: Self.bnb, tradeId: "42")])
        let record = UnvaluedFee(timeMs: 11, asset: "BNB", amount: Self.bnb, tradeId: "41")
        for _ in 0..<2 {
            try db.addLedger(atMs: 11, symbol: "XRPUSDT", kind: "commission", amount: -Self.bnb * 600, positionId: id, ref: "COMMISSION:7",
                             asset: "BNB", assetAmount: -Self.bnb, valuesFee: record)
        }
        #expect(try db.position(id: id)?.fees == Self.bnb * 600)
        #expect(try db.unvaluedFees(positionId: id) == [UnvaluedFee(timeMs: 20, asset: "BNB", amount: Self.bnb, tradeId: "42")])
        #expect(try db.ledgerTotals(fromMs: 0).commission == -Self.bnb * 600)
    }

    /// A key left by the version before trade ids still values its fee, by time, asset and amount.
    @Test func aKeyWrittenWithoutTradeIdsStillValuesItsFee() throws {
        let db = try GobotDatabase.inMemory()
        let id = try closedPosition(db, unvalued: [])
        try db.setValue("10 BNB 0.004875", forKey: UnvaluedFee.key(positionId: id), atMs: 100)
        try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "commission", amount: -Self.bnb, positionId: id, ref: "COMMISSION:7",
                         asset: "BNB", assetAmount: -Self.bnb, valuesFee: UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41"))
        #expect(try db.position(id: id)?.fees == Self.bnb)
        #expect(try db.value(forKey: UnvaluedFee.key(positionId: id)) == nil)
    }

    /// A line that is neither form fails loudly, naming the key: never read as "no fee waits".
    @Test func aKeyLineOfAnotherShapeFailsNamingTheKey() throws {
        let db = try GobotDatabase.inMemory()
        let id = try closedPosition(db, unvalued: [])
        let key = UnvaluedFee.key(positionId: id)
        // A fourth field that is not a trade id as gobot writes it would match no record, and the
        // fee would wait for ever unsaid (review 15, L2).
        for damaged in ["10 BNB 0.004875 41 extra", "10 BNB", "10 BNB 0.004875\nten BNB 0.004875 41",
                        "10 BNB 0.004875 41x", "10 BNB 0.004875 -41", "10 BNB 0.004875 041", "10 BNB 0.004875 +41"] {
            try db.setValue(damaged, forKey: key, atMs: 100)
            let error = #expect(throws: GobotStore.RowDecodingError.self) { try db.unvaluedFees(positionId: id) }
            #expect(error.map { "\($0)" }?.contains("kv.value (key \(key))") == true, "\(String(describing: error))")
            #expect(throws: GobotStore.RowDecodingError.self) {
                try db.addLedger(atMs: 10, symbol: "XRPUSDT", kind: "commission", amount: -Self.bnb, positionId: id, ref: "COMMISSION:\(damaged.count)",
                                 asset: "BNB", assetAmount: -Self.bnb, valuesFee: UnvaluedFee(timeMs: 10, asset: "BNB", amount: Self.bnb, tradeId: "41"))
            }
        }
        // The booking that failed rolled back: nothing booked, the fees untouched.
        #expect(try db.ledgerTotals(fromMs: 0).commission == 0)
        #expect(try db.position(id: id)?.fees == 0)
    }
}
