import Charts
import Foundation
import GobotCore

/// The backtest's equity PNG and a self-contained HTML page (the PNG embedded as data URL).
public enum BacktestReport {
    public static func write(_ r: Backtest.Result, dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let png = LineChart.render(r.equity.map(\.usd), title: "gobot backtest equity (USD)")
        let pngPath = "\(dir)/backtest-equity.png"
        try Data(png).write(to: URL(fileURLWithPath: pngPath))
        let rows = r.closed.map { p in
            "<tr><td>\(TradingCalendar.dayString(p.openedAtMs))</td><td>\(p.symbol)</td><td>\(p.side.rawValue)</td><td>\(p.quantity.plainString)</td>"
                + "<td>\(p.entryPrice.plainString)</td><td>\(p.exitPrice?.plainString ?? "")</td><td>\(p.exitReason ?? "")</td><td>\(p.netPnl.rounded(scale: 4))</td></tr>"
        }.joined(separator: "\n")
        let summary = Backtest.summary(r).split(separator: "\n").prefix(5).map { "<li>\(escape(String($0)))</li>" }.joined()
        let html = """
            <!doctype html><html><head><meta charset="utf-8"><title>gobot backtest</title>
            <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>
            </head><body><h1>gobot backtest</h1><ul>\(summary)</ul>
            <img alt="equity curve" src="data:image/png;base64,\(Data(png).base64EncodedString())">
            <h2>Trades</h2><table><tr><th>day</th><th>symbol</th><th>side</th><th>qty</th><th>entry</th><th>exit</th><th>reason</th><th>net USD</th></tr>
            \(rows)
            </table></body></html>
            """
        let htmlPath = "\(dir)/backtest.html"
        try html.write(toFile: htmlPath, atomically: true, encoding: .utf8)
        return [pngPath, htmlPath]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
