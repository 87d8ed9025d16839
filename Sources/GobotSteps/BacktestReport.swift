import Charts
import Foundation
import GobotCore

/// The backtest's equity PNG and a self-contained HTML page (the PNG embedded as data URL) that
/// lists every trade, entry and exit to the minute, and the positions still open at the end.
public enum BacktestReport {
    public static func write(_ r: Backtest.Result, dir: String) throws -> [String] {
        try write(Backtest.outcome(r), dir: dir)
    }

    public static func write(_ r: BacktestOutcome, dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let png = LineChart.render(r.markedEquity.map(\.usd), title: "gobot backtest equity, marked to market (USD)")
        let pngPath = "\(dir)/backtest-equity.png"
        try Data(png).write(to: URL(fileURLWithPath: pngPath))
        let rows = r.trades.map { p in
            let exit = p.isOpen ? "OPEN (marked at \(p.markPrice?.plainString ?? "-"))" : (p.exitPrice?.plainString ?? "")
            return "<tr><td>\(TradingCalendar.minuteString(p.openedAtMs))</td><td>\(p.closedAtMs.map(TradingCalendar.minuteString) ?? "open")</td>"
                + "<td>\(escape(p.symbol))</td><td>\(p.side.rawValue)</td><td>\(p.quantity.plainString)</td>"
                + "<td>\(p.entryPrice.plainString)</td><td>\(exit)</td><td>\(p.isOpen ? "still open, unrealized" : escape(p.exitReason))</td>"
                + "<td>\(p.net.rounded(scale: 4))</td></tr>"
        }.joined(separator: "\n")
        let summary = r.summary(listing: 0).split(separator: "\n").filter { !$0.hasPrefix("  ") }.map { "<li>\(escape(String($0)))</li>" }.joined()
        let html = """
            <!doctype html><html><head><meta charset="utf-8"><title>gobot backtest</title>
            <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>
            </head><body><h1>gobot backtest</h1><ul>\(summary)</ul>
            <img alt="equity curve" src="data:image/png;base64,\(Data(png).base64EncodedString())">
            <h2>All \(r.trades.count) trades (times UTC)</h2><table><tr><th>entry</th><th>exit</th><th>symbol</th><th>side</th><th>qty</th><th>entry price</th><th>exit price</th><th>reason</th><th>net USD</th></tr>
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
