import Foundation
import GobotCore

/// A self-contained HTML page: the verdict, every figure, and the analyst's equity curve drawn
/// inside the random baseline's 5–95 % band (inline SVG, no external files).
public enum EvaluationReport {
    public static func write(_ r: EdgeEvaluation.Report, text: String, dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/evaluate.html"
        try html(r, text: text).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    public static func html(_ r: EdgeEvaluation.Report, text: String) -> String {
        let w = 900.0, h = 360.0, pad = 50.0
        let values = r.band.flatMap { [$0.analyst, $0.low, $0.high] }
        let lo = (values.min() ?? 0) - 0.01, hi = (values.max() ?? 1) + 0.01
        let count = max(1, r.band.count - 1)
        func x(_ i: Int) -> Double { pad + (w - 2 * pad) * Double(i) / Double(count) }
        func y(_ v: Double) -> Double { h - pad - (h - 2 * pad) * (v - lo) / max(hi - lo, 1e-9) }
        let upper = r.band.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element.high)) }
        let lower = r.band.enumerated().reversed().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element.low)) }
        let median = r.band.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element.median)) }.joined(separator: " ")
        let analyst = r.band.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element.analyst)) }.joined(separator: " ")
        let svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" role="img" aria-label="equity inside the random band">
            <rect width="100%" height="100%" fill="#fff"/>
            <polygon points="\((upper + lower).joined(separator: " "))" fill="#cfd8e3" stroke="none"/>
            <polyline points="\(median)" fill="none" stroke="#7a8ca3" stroke-dasharray="4 3"/>
            <polyline points="\(analyst)" fill="none" stroke="#c0392b" stroke-width="2"/>
            <text x="\(pad)" y="20" font-size="13">equity (USD, realized at exits): analyst (red) inside random sides 5–95 % (band), median dashed</text>
            <text x="4" y="\(String(format: "%.0f", y(hi - 0.01)))" font-size="11">\(String(format: "%.2f", hi - 0.01))</text>
            <text x="4" y="\(String(format: "%.0f", y(lo + 0.01)))" font-size="11">\(String(format: "%.2f", lo + 0.01))</text>
            </svg>
            """
        let rows = zip(r.entries, r.outcomes).map { e, o in
            "<tr><td>\(TradingCalendar.dayString(e.openedAtMs))</td><td>\(e.symbol)</td><td>\(e.side.rawValue)</td><td>\(e.entryPrice.plainString)</td>"
                + "<td>\(o.exitPrice.plainString)</td><td>\(escape(o.exitReason))</td><td>\(String(format: "%+.4f", o.net))</td><td>\(String(format: "%+.2f", o.r))</td></tr>"
        }.joined(separator: "\n")
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>gobot evaluate</title>
            <style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}.verdict{font-size:1.4em;font-weight:bold}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}</style></head><body>
            <h1>gobot evaluate</h1><p class="verdict">\(escape(r.whole.verdict))</p>
            \(svg)
            <pre>\(escape(text))</pre>
            <h2>Trades (analyst's sides, replayed with the config's stop, target, fees and funding)</h2>
            <table><tr><th>day</th><th>symbol</th><th>side</th><th>entry</th><th>exit</th><th>reason</th><th>net USD</th><th>R</th></tr>
            \(rows)</table>
            <p>How to read this: docs/EVALUATION.md.</p></body></html>
            """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
