import Analysts
import Charts
import Digest
import Foundation
import GobotCore

/// Renders the three charts an analyst sees and keeps the last ones under `state/charts/` for audit.
enum ChartOutput {
    /// The three charts are independent cairo surfaces, drawn and PNG-encoded on every core:
    /// the encoder (zlib) is most of a chart's time, and analyze waits on all three.
    static func render(_ set: ChartSet) -> [[UInt8]] {
        let frames = [("1m", set.m1), ("5m", set.m5), ("15m", set.m15)]
        return ParallelMap.map(frames.count) { CandleChart.render(frames[$0].1, symbol: set.symbol, interval: frames[$0].0) }
    }

    static func render(_ set: ChartSet, ctx: StepContext) throws -> [[UInt8]] {
        let pngs = render(set)
        if ctx.saveCharts {
            try FileManager.default.createDirectory(atPath: ctx.paths.chartsDir, withIntermediateDirectories: true)
            for (png, tf) in zip(pngs, ["1m", "5m", "15m"]) {
                try Data(png).write(to: URL(fileURLWithPath: "\(ctx.paths.chartsDir)/\(set.symbol)-\(tf).png"), options: .atomic)
            }
        }
        return pngs
    }

    static func hash(_ png: [UInt8]) -> String {
        SHA256Digest.hash(png).prefix(8).hexString
    }
}
