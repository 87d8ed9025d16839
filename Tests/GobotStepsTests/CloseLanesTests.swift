import Foundation
import GobotCore
import PaperExchange
import Testing
@testable import GobotSteps

/// The engine reads its indicator blocks from arrays of closes (vector and strided loads); every
/// window of the bundled real candles, the last ones of each series included, must give the
/// scalar functions' values bit for bit, as the candle path does.
@Suite struct CloseLanesTests {
    @Test func closesBlocksAreBitForBitTheScalarFigures() throws {
        let market = try ReplayData.load(dir: BacktestTests.sample)
        var compared = 0
        for (_, m1) in market.series {
            for candles in [m1, CandleResampler.resample(m1, to: .m5), CandleResampler.resample(m1, to: .m15)] {
                let closes = candles.map(\.close)
                for (window, stride) in [(60, 1), (120, 1), (60, 5), (120, 3)] {
                    var pair = IndicatorLanes.Block(.emaPair(window: window, fast: 9, slow: 21), stride: stride)
                    var emaRSI = IndicatorLanes.Block(.emaRSI(window: window, emaPeriod: 9), stride: stride)
                    let short = pair.values(closes: closes, end: window - 1)
                    #expect(short == nil)
                    for end in Swift.stride(from: window, through: closes.count, by: stride) {
                        let slice = Array(closes[(end - window)..<end])
                        let scalar = Indicators.emaLastPair(candles[(end - window)..<end], fast: 9, slow: 21)
                        let pairValues = pair.values(closes: closes, end: end)
                        let lanes = try #require(pairValues)
                        #expect(lanes.0.bitPattern == scalar.fast.bitPattern && lanes.1.bitPattern == scalar.slow.bitPattern, "ema pair window \(window) ending \(end)")
                        let emaRSIValues = emaRSI.values(closes: closes, end: end)
                        let (ema, rsi) = try #require(emaRSIValues)
                        #expect(ema.bitPattern == Indicators.emaLast(slice, period: 9)!.bitPattern, "ema window \(window) ending \(end)")
                        #expect(rsi.bitPattern == Indicators.rsi(slice)!.bitPattern, "rsi window \(window) ending \(end)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared > 50_000)
    }
}
