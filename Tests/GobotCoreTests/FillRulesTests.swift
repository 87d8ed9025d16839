import Foundation
import Testing
@testable import GobotCore

@Suite struct FillRulesTests {
    static let t0: Int64 = 1_747_699_200_000
    func d(_ s: String) -> Decimal { Decimal(string: s)! }
    func candle(_ o: Double, _ h: Double, _ l: Double, _ c: Double, at ms: Int64 = t0) -> Candle {
        Candle(openTimeMs: ms, open: o, high: h, low: l, close: c, volume: 1)
    }

    @Test func slippageIsAgainstTheTraderOnTheTickGrid() {
        // XRPUSDT at 2.3459, tick 0.0001: 2 bps is 0.00047, rounded away from the trader.
        #expect(FillRules.slipped(d("2.3459"), side: .buy, bps: 2, tickSize: d("0.0001")) == d("2.3464"))
        #expect(FillRules.slipped(d("2.3459"), side: .sell, bps: 2, tickSize: d("0.0001")) == d("2.3454"))
    }

    @Test func slippageIsAtLeastOneTickUnlessTurnedOff() {
        // BTCUSDT-like tick of 0.1 at 100: 2 bps (0.02) is less than a tick.
        #expect(FillRules.slipped(100, side: .buy, bps: 2, tickSize: d("0.1")) == d("100.1"))
        #expect(FillRules.slipped(100, side: .sell, bps: d("0.01"), tickSize: d("0.1")) == d("99.9"))
        // 0 is an explicit "no slippage".
        #expect(FillRules.slipped(100, side: .sell, bps: 0, tickSize: d("0.1")) == 100)
        #expect(FillRules.slipped(d("105531.5"), side: .sell, bps: 5, tickSize: d("0.1")) == d("105478.7"))
    }

    @Test func aStopTriggersOnTheMarkPriceWhenItIsKnown() {
        let last = candle(100, 100.5, 99.5, 100)
        let mark = candle(100, 100.4, 98.9, 99.8)
        // The last price never reached 99, the mark price did: live would have stopped out.
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: last, mark: mark, placedAtMs: Self.t0) == 99)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: last, mark: nil, placedAtMs: Self.t0) == nil)
        // And a last-price wick the mark price did not follow does not trigger it.
        let wick = candle(100, 100.2, 98.5, 100)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: wick, mark: mark.with(low: 99.2), placedAtMs: Self.t0) == nil)
    }

    @Test func targetsTriggerTheOtherWayAndShortsMirror() {
        let c = candle(100, 103, 97, 101)
        #expect(FillRules.protectiveFill(isStop: false, side: .sell, trigger: 102, last: c, mark: nil, placedAtMs: Self.t0) == 102)
        #expect(FillRules.protectiveFill(isStop: true, side: .buy, trigger: 102, last: c, mark: nil, placedAtMs: Self.t0) == 102)
        #expect(FillRules.protectiveFill(isStop: false, side: .buy, trigger: 98, last: c, mark: nil, placedAtMs: Self.t0) == 98)
        #expect(FillRules.protectiveFill(isStop: false, side: .sell, trigger: 104, last: c, mark: nil, placedAtMs: Self.t0) == nil)
    }

    @Test func aGapThroughTheTriggerFillsAtTheLastPriceOpen() {
        let last = candle(98.2, 98.6, 97.9, 98.4)
        let mark = candle(98.3, 98.7, 98.0, 98.5)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: last, mark: mark, placedAtMs: Self.t0) == d("98.2"))
    }

    @Test func anOrderPlacedInsideAMinuteMeetsOnlyItsClose() {
        let placed = Self.t0 + 30_000
        // The low of 97 may have come before the order existed; the close of 100 did not reach the stop.
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: candle(100, 100.5, 97, 100), mark: nil, placedAtMs: placed) == nil)
        // A close beyond the trigger fills there.
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: candle(100, 100.5, 97, 98.5), mark: nil, placedAtMs: placed) == d("98.5"))
        // The next minute counts in full.
        let next = candle(100, 100.5, 97, 100, at: Self.t0 + 60_000)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: next, mark: nil, placedAtMs: placed) == 99)
    }

    /// A minute that closed before the order existed never triggers it, whatever its close: a
    /// replay that reaches it after the order was placed (a paper stop stamped after its books'
    /// settled minute) would otherwise fill it at a price it never met (review 16, L1).
    @Test func aMinuteThatClosedBeforeTheOrderNeverTriggersIt() {
        let before = candle(100, 100.5, 97, 98.5)  // the minute t0…t0+60 s, closing beyond the trigger
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: before, mark: nil, placedAtMs: Self.t0 + 60_000) == nil)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: before, mark: nil, placedAtMs: Self.t0 + 60_200) == nil)
        #expect(FillRules.protectiveFill(isStop: true, side: .sell, trigger: 99, last: before, mark: nil, placedAtMs: Self.t0 + 59_999) == d("98.5"))
    }

    @Test func theTriggerSourceNamesWhatWasUsed() {
        #expect(TriggerPriceSource.from(withMark: 0, of: 4) == .lastPrice)
        #expect(TriggerPriceSource.from(withMark: 4, of: 4) == .markPrice)
        #expect(TriggerPriceSource.from(withMark: 1, of: 4) == .mixed)
    }
}

extension Candle {
    func with(low: Double) -> Candle { Candle(openTimeMs: openTimeMs, open: open, high: high, low: low, close: close, volume: volume) }
}
