import Analysts
import Charts
import Digest
import Foundation

/// Renders the three charts an analyst sees and keeps the last ones under `state/charts/` for audit.
enum ChartOutput {
    static func render(_ set: ChartSet) -> [[UInt8]] {
        [("1m", set.m1), ("5m", set.m5), ("15m", set.m15)].map { CandleChart.render($0.1, symbol: set.symbol, interval: $0.0) }
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
