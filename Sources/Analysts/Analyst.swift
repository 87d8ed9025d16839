import GobotCore

/// The three timeframes an analyst looks at, closed candles only.
public struct ChartSet: Sendable {
    public var symbol: String
    public var m1: [Candle]
    public var m5: [Candle]
    public var m15: [Candle]

    public init(symbol: String, m1: [Candle], m5: [Candle], m15: [Candle]) {
        self.symbol = symbol
        self.m1 = m1
        self.m5 = m5
        self.m15 = m15
    }
}

/// Turns charts into a direction and a confidence. The gate trusts nothing else it says.
public protocol Analyst: Sendable {
    /// - Parameter pngs: rendered charts (1m, 5m, 15m), empty when the analyst does not need them.
    func analyze(_ charts: ChartSet, pngs: [[UInt8]], nowMs: Int64) async throws -> Signal
    var needsCharts: Bool { get }
    /// Closed candles of each frame (1m, 5m, 15m) its answer depends on, when no chart is drawn
    /// (charts take ``ChartSet/chartCandles`` of each).
    var candlesPerFrame: [Int] { get }
}

extension Analyst {
    public var candlesPerFrame: [Int] { Array(repeating: ChartSet.chartCandles, count: 3) }
}

extension ChartSet {
    /// Candles per chart.
    public static let chartCandles = 120
}

/// The deterministic baseline; see ``RulesAnalyst``.
public struct RulesAnalystAdapter: Analyst {
    public init() {}
    public var needsCharts: Bool { false }
    public var candlesPerFrame: [Int] { RulesAnalyst.candlesPerFrame }
    public func analyze(_ charts: ChartSet, pngs: [[UInt8]], nowMs: Int64) async throws -> Signal {
        RulesAnalyst.analyze(m1: charts.m1, m5: charts.m5, m15: charts.m15)
    }
}
