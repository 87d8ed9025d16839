import Foundation
import GobotCore

extension ReplayData {
    /// `markprice/SYMBOL-1m.csv` beside `klines/`: 1m mark-price klines, header
    /// `open_time_ms,open,high,low,close`. Nil when the file is absent (triggers then use the last price).
    static func loadMarkPrices(dir: String, symbol: String, fromMs: Int64?, toMs: Int64?) throws -> [Candle]? {
        let path = "\(dir)/markprice/\(symbol)-1m.csv"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var marks = try CandleCSV.parse(path: path, columns: 5)
        if let fromMs { marks.removeAll { $0.openTimeMs < fromMs } }
        if let toMs { marks.removeAll { $0.openTimeMs + 60_000 > toMs } }
        return marks
    }
}
