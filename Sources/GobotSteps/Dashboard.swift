import Digest
import Foundation
import GobotBuildInfo
import GobotCore
import GobotStore
import GRDB

/// One self-contained HTML page of the bot at a glance: no network, no scripts, images inline.
///
/// The page is a list of ``Section``s built from the database; adding a panel is adding one
/// function that returns a section and one line in ``sections(_:)``.
public enum Dashboard {
    public struct Section: Sendable {
        public var id: String
        public var title: String
        /// Already-escaped HTML.
        public var body: String
        /// Draws the panel with a red border (something needs the operator).
        public var alarm: Bool = false

        public init(id: String, title: String, body: String, alarm: Bool = false) {
            self.id = id
            self.title = title
            self.body = body
            self.alarm = alarm
        }
    }

    /// Everything the page shows, read once from the database.
    public struct Inputs: Sendable {
        public var db: GobotDatabase
        public var config: GobotConfig
        public var paths: StepPaths
        public var nowMs: Int64
        public var killSwitch: String?
    }

    public static func path(_ paths: StepPaths) -> String { "\(paths.reportsDir)/dashboard.html" }

    /// Writes the page (atomically: a browser or `--serve` never reads half a file). Returns its path.
    @discardableResult
    public static func write(_ db: GobotDatabase, config: GobotConfig, paths: StepPaths, nowMs: Int64, to out: String? = nil) throws -> String {
        let file = out ?? path(paths)
        try MetricsFile.writeAtomically(try html(db, config: config, paths: paths, nowMs: nowMs), to: file)
        return file
    }

    public static func html(_ db: GobotDatabase, config: GobotConfig, paths: StepPaths, nowMs: Int64) throws -> String {
        let inputs = Inputs(db: db, config: config, paths: paths, nowMs: nowMs, killSwitch: StepRunner.killSwitchReason(config))
        return page(title: "gobot — \(config.exchange.environment.rawValue)", nowMs: nowMs, sections: try sections(inputs))
    }

    /// The panels, in the order an operator reads them.
    public static func sections(_ i: Inputs) throws -> [Section] {
        [
            try overview(i),
            try stepHealth(i),
            try positions(i),
            try limits(i),
            try breakers(i),
            try signals(i),
            try scorecard(i),
            try outbox(i),
        ]
    }

    // MARK: panels

    static func overview(_ i: Inputs) throws -> Section {
        let all = try i.db.ledgerTotals(fromMs: 0)
        let today = try i.db.ledgerTotals(fromMs: TradingCalendar.startOfDay(i.nowMs))
        let week = try i.db.ledgerTotals(fromMs: TradingCalendar.startOfWeek(i.nowMs))
        let marks = try markedPositions(i)
        let unrealized = marks.reduce(0.0) { $0 + ($1.unrealized ?? 0) }
        let realizedEquity = (i.config.trading.initialCapitalUSD + all.net).doubleValue
        let halt = try i.db.haltState()
        let haltText = i.killSwitch.map { "HALTED: \($0)" } ?? (halt.halted ? "HALTED by \(halt.actor): \(halt.reason)" : "running")
        let health = try StepHealthReader.read(i.db, config: i.config, nowMs: i.nowMs)
        let stale = health.filter(\.isStale).map(\.step)
        let history = try i.db.tradeHistory()
        let wilson = Statistics.wilson(successes: history.wins, trials: history.closed)
        let s = i.config.trading.stopLossPercent.doubleValue, t = i.config.trading.takeProfitPercent.doubleValue
        let feePct = i.config.exchange.takerFeeRate.doubleValue * 100
        // A trade wins t % and loses s %, and pays the taker fee twice: p·t − (1−p)·s − 2·fee = 0.
        let breakEven = (s + 2 * feePct) / (s + t)
        // A random entry on a driftless price hits the target first with probability s / (s + t).
        let randomBaseline = s / (s + t)
        let winLine = history.closed == 0
            ? "no closed trades yet (n = 0)"
            : String(format: "n = %d closed, %d won: win rate %.0f%% (95%% CI %.0f–%.0f%%)", history.closed, history.wins,
                     Double(history.wins) / Double(history.closed) * 100, wilson.low * 100, wilson.high * 100)
        let tiles = [
            tile("equity (marked to market)", usd(realizedEquity + unrealized, signed: false),
                 sub: "realized \(usd(realizedEquity, signed: false)), unrealized \(usd(unrealized))", id: "equity"),
            tile("P&L today", usd(today.net.doubleValue),
                 sub: "fees \(usd(today.commission.doubleValue)), funding \(usd(today.funding.doubleValue))", id: "pnl-today",
                 tone: tone(today.net.doubleValue)),
            tile("P&L this week", usd(week.net.doubleValue),
                 sub: "fees \(usd(week.commission.doubleValue)), funding \(usd(week.funding.doubleValue))", id: "pnl-week",
                 tone: tone(week.net.doubleValue)),
            tile("open positions", "\(marks.count)", sub: "max \(i.config.risk.maxOpenPositions)", id: "open-positions"),
            tile("trading", i.killSwitch != nil || halt.halted ? "HALTED" : "running", sub: haltText, id: "halt",
                 tone: i.killSwitch != nil || halt.halted ? "bad" : "good"),
            tile("steps", stale.isEmpty ? "all fresh" : "\(stale.count) STALE", sub: stale.isEmpty ? "\(health.count) scheduled steps" : stale.joined(separator: ", "),
                 id: "steps", tone: stale.isEmpty ? "good" : "bad"),
        ]
        let perf = "<p class=\"note\" id=\"performance\">\(escape(winLine)); break-even win rate \(pct(breakEven)) after fees, "
            + "random-entry baseline \(pct(randomBaseline)) (stop \(fmt(s))%, target \(fmt(t))%, taker fee \(fmt(feePct))% per side).</p>"
        return Section(id: "overview", title: "Overview", body: "<div class=\"tiles\">\(tiles.joined())</div>\(perf)",
                       alarm: !stale.isEmpty || halt.halted || i.killSwitch != nil)
    }

    static func stepHealth(_ i: Inputs) throws -> Section {
        let health = try StepHealthReader.read(i.db, config: i.config, nowMs: i.nowMs)
        let runs = Dictionary(try i.db.lastRuns().map { ($0.step, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = health.map { h -> [String] in
            let last = runs[h.step]
            return [escape(h.step),
                    "<span class=\"state \(h.isStale ? "stale" : h.state == .ok ? "ok" : "waiting")\">\(h.state.rawValue)</span>",
                    h.ageSeconds.map { "\(StepHealth.ageText(seconds: $0)) ago" } ?? "never",
                    "every \(StepHealth.ageText(seconds: Int64(h.intervalMinutes) * 60))",
                    last.map { escape("\($0.outcome) (exit \($0.exitCode.map(String.init) ?? "running"))") } ?? "—",
                    last.map { escape(String($0.message.split(separator: "\n").first ?? "").prefix(120).description) } ?? ""]
        }
        var body = table(["step", "state", "last success", "expected", "last run", "message"], rows)
        let failures = HealthPing.failureCount(i.db)
        body += "<p class=\"note\">A step is STALE when it has not succeeded for \(i.config.health.staleAfterIntervals) intervals. "
            + (i.config.health.pingURL == nil ? "Dead-man's-switch pings: off (health.ping_url)." : "Dead-man's-switch pings: on, \(failures) failed.")
            + "</p>"
        return Section(id: "health", title: "Step health", body: body, alarm: health.contains(where: \.isStale))
    }

    struct Marked { var row: PositionRow; var mark: Double?; var markAtMs: Int64?; var unrealized: Double? }

    /// Open positions marked at the last stored 1m close: the page never calls the exchange.
    static func markedPositions(_ i: Inputs) throws -> [Marked] {
        try i.db.livePositions().map { p in
            let last = try i.db.candles(symbol: p.symbol, interval: .m1, closedByMs: i.nowMs, limit: 1).last
            let entry = p.entryPrice.doubleValue, qty = p.quantity.doubleValue
            let unrealized = last.map { ($0.close - entry) * qty * (p.side == .long ? 1 : -1) }
            return Marked(row: p, mark: last?.close, markAtMs: last.map { $0.openTimeMs + Interval.m1.ms }, unrealized: unrealized)
        }
    }

    static func positions(_ i: Inputs) throws -> Section {
        let marks = try markedPositions(i)
        guard !marks.isEmpty else { return Section(id: "positions", title: "Open positions", body: "<p class=\"empty\">no open positions</p>") }
        let rows = marks.map { m -> [String] in
            let p = m.row, entry = p.entryPrice.doubleValue
            let ref = m.mark ?? entry
            func distance(_ price: Decimal) -> String {
                let d = (price.doubleValue - ref) / ref * 100
                return "\(price.plainString) (\(String(format: "%+.2f%%", d)))"
            }
            return [escape(p.symbol), p.side.rawValue, p.quantity.plainString, p.entryPrice.plainString,
                    m.mark.map { "\(fmt($0)) <span class=\"note\">\(ago(i.nowMs, m.markAtMs))</span>" } ?? "no candle",
                    m.unrealized.map { "<span class=\"\(tone($0))\">\(usd($0))</span>" } ?? "—",
                    distance(p.stopPrice), distance(p.targetPrice), p.status]
        }
        return Section(id: "positions", title: "Open positions",
                       body: table(["symbol", "side", "qty", "entry", "mark (last 1m close)", "unrealized", "stop (distance)", "target (distance)", "status"], rows)
                           + "<p class=\"note\">Distances are from the mark. Protective orders live on the exchange; reconcile re-places a missing stop.</p>")
    }

    static func limits(_ i: Inputs) throws -> Section {
        let day = TradingCalendar.startOfDay(i.nowMs), weekStart = TradingCalendar.startOfWeek(i.nowMs)
        let entriesToday = try i.db.entriesSince(day)
        let lossToday = max(0, -(try i.db.ledgerTotals(fromMs: day)).net.doubleValue)
        let lossWeek = max(0, -(try i.db.ledgerTotals(fromMs: weekStart)).net.doubleValue)
        let c = i.config
        let rows: [(String, Double, Double, String)] = [
            ("trades today", Double(entriesToday.count), Double(c.trading.maxTradesPerDay), "\(entriesToday.count) / \(c.trading.maxTradesPerDay)"),
            ("loss today", lossToday, c.trading.dailyLossLimitUSD.doubleValue, "\(usd(-lossToday)) / −\(fmt(c.trading.dailyLossLimitUSD.doubleValue)) USD"),
            ("loss this week", lossWeek, c.risk.weeklyLossLimitUSD.doubleValue, "\(usd(-lossWeek)) / −\(fmt(c.risk.weeklyLossLimitUSD.doubleValue)) USD"),
            ("exposure opened today", entriesToday.notional.doubleValue, c.risk.dailyExposureLimitUSD.doubleValue,
             "\(String(format: "%.2f", entriesToday.notional.doubleValue)) / \(fmt(c.risk.dailyExposureLimitUSD.doubleValue)) USD"),
            ("open positions", Double(try i.db.livePositions().count), Double(c.risk.maxOpenPositions),
             "\(try i.db.livePositions().count) / \(c.risk.maxOpenPositions)"),
            ("losses in a row", Double(try i.db.tradeHistory().consecutiveLosses), Double(c.risk.maxConsecutiveLosses),
             "\(try i.db.tradeHistory().consecutiveLosses) / \(c.risk.maxConsecutiveLosses)"),
        ]
        let html = rows.map { name, used, limit, text -> String in
            let share = limit > 0 ? min(1, used / limit) : (used > 0 ? 1 : 0)
            let tone = share >= 1 ? "bad" : share >= 0.66 ? "warn" : "good"
            return "<div class=\"limit\"><span class=\"lname\">\(escape(name))</span><span class=\"bar\"><span class=\"fill \(tone)\" style=\"width:\(Int(share * 100))%\"></span></span><span class=\"lval\">\(escape(text))</span></div>"
        }.joined()
        return Section(id: "limits", title: "Limits (UTC day and week)", body: html)
    }

    static func breakers(_ i: Inputs) throws -> Section {
        let halt = try i.db.haltState()
        var items: [String] = []
        items.append("kill switch file \(escape(i.config.emergency.killSwitchFile)): "
                     + (i.killSwitch != nil ? "<b class=\"bad\">PRESENT</b>" : "absent"))
        items.append("halt flag: " + (halt.halted ? "<b class=\"bad\">HALTED</b> by \(escape(halt.actor)) since \(time(halt.sinceMs)): \(escape(halt.reason))"
                                                  : "clear" + (halt.sinceMs > 0 ? " (last change \(time(halt.sinceMs)) by \(escape(halt.actor)))" : "")))
        let all = try i.db.allBreakers()
        let open = all.filter { $0.isOpen(atMs: i.nowMs) }
        for b in all {
            items.append("breaker \(escape(b.name)): " + (b.isOpen(atMs: i.nowMs)
                ? "<b class=\"bad\">OPEN</b> until \(time(b.openUntilMs)): \(escape(b.reason))"
                : "closed (\(b.failures) recent failures)"))
        }
        if all.isEmpty { items.append("breakers: none has ever opened") }
        return Section(id: "breakers", title: "Halt and breakers", body: "<ul>" + items.map { "<li>\($0)</li>" }.joined() + "</ul>",
                       alarm: halt.halted || i.killSwitch != nil || !open.isEmpty)
    }

    static func signals(_ i: Inputs, limit: Int = 8) throws -> Section {
        let recent = Array(try i.db.signals().suffix(limit).reversed())
        guard !recent.isEmpty else { return Section(id: "signals", title: "Last signals", body: "<p class=\"empty\">no signals yet</p>") }
        let bySignal = Dictionary(try i.db.positions().compactMap { p in p.signalId.map { ($0, p) } }, uniquingKeysWith: { a, _ in a })
        var shownCharts: Set<String> = []
        let cards = recent.map { s -> String in
            let outcome: String
            if let p = bySignal[s.id] {
                if p.status == "closed" {
                    let net = p.netPnl.doubleValue
                    outcome = "<span class=\"\(tone(net))\">\(net < 0 ? "loss" : "win") \(usd(net))</span> (\(escape(p.exitReason ?? "closed")))"
                } else {
                    outcome = "position \(escape(p.status))"
                }
            } else {
                outcome = escape(s.status + (s.decision.map { ": \($0)" } ?? ""))
            }
            // Only the latest three charts per symbol are kept; show them when they are this signal's.
            let hashes = s.chartHashes.split(separator: ",").map(String.init)
            var thumbs = ""
            if !shownCharts.contains(s.symbol) {
                let files = ["1m", "5m", "15m"].map { "\(i.paths.chartsDir)/\(s.symbol)-\($0).png" }
                let pngs = files.compactMap { FileManager.default.contents(atPath: $0) }
                if pngs.count == 3, hashes.count == 3, zip(pngs, hashes).allSatisfy({ SHA256Digest.hash([UInt8]($0.0)).prefix(8).hexString == $0.1 }) {
                    thumbs = "<div class=\"thumbs\">" + zip(pngs, ["1m", "5m", "15m"]).map {
                        "<img alt=\"\(escape(s.symbol)) \($0.1)\" src=\"data:image/png;base64,\($0.0.base64EncodedString())\">"
                    }.joined() + "</div>"
                    shownCharts.insert(s.symbol)
                }
            }
            return """
                <div class="signal"><div class="shead"><b>\(escape(s.symbol))</b> \(s.signal.direction.rawValue) \
                <span class="conf">confidence \(String(format: "%.2f", s.signal.confidence))</span> \
                <span class="note">\(time(s.createdAtMs)) · \(escape(s.signal.model))</span></div>\
                <div class="reason">\(escape(s.signal.rationale))</div><div class="outcome">outcome: \(outcome)</div>\(thumbs)</div>
                """
        }
        return Section(id: "signals", title: "Last signals", body: cards.joined())
    }

    /// The analyst scorecard, whatever table the scorecard feature keeps (any table whose name
    /// contains "scorecard"), shown as it is; until one exists, says so.
    static func scorecard(_ i: Inputs) throws -> Section {
        let rendered: String? = try i.db.read { db in
            guard let name = try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name LIKE '%scorecard%' ORDER BY name LIMIT 1")
            else { return nil }
            let query: String = "SELECT * FROM \"" + name.replacingOccurrences(of: "\"", with: "") + "\" LIMIT 50"
            let rows = try Row.fetchAll(db, sql: query)
            guard let first = rows.first else { return "<p class=\"empty\">scorecard table \(escape(name)) is empty</p>" }
            let columns = Array(first.columnNames)
            return table(columns.map(escape), rows.map { r in columns.map { escape(r[$0].map { "\($0)" } ?? "") } })
        }
        return Section(id: "scorecard", title: "Analyst scorecard", body: rendered ?? "<p class=\"empty\">no scorecard yet</p>")
    }

    static func outbox(_ i: Inputs, limit: Int = 10) throws -> Section {
        let counts = try i.db.outboxCounts()
        let recent = Array(try i.db.outbox().suffix(limit).reversed())
        let rows = recent.map { m -> [String] in
            let text = m.kind == "photo" ? "[chart] " + (m.payload.split(separator: "\n").dropFirst().first.map(String.init) ?? "") : m.payload
            let plain = text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
            return [time(m.createdAtMs), escape(m.kind),
                    "<span class=\"\(m.status == "dead" ? "bad" : m.status == "pending" ? "warn" : "good")\">\(escape(m.status))</span>",
                    "\(m.attempts)", escape(String(plain.prefix(140)))]
        }
        let summary = "<p>\(counts["pending", default: 0]) pending, \(counts["sent", default: 0]) sent, \(counts["dead", default: 0]) undeliverable"
            + (i.config.telegram.enabled ? "" : " (telegram.enabled is false: messages wait here)") + "</p>"
        return Section(id: "outbox", title: "Telegram outbox", body: summary + (rows.isEmpty ? "" : table(["queued", "kind", "status", "attempts", "text"], rows)),
                       alarm: counts["dead", default: 0] > 0)
    }

    // MARK: page

    static func page(title: String, nowMs: Int64, sections: [Section]) -> String {
        let body = sections.map {
            "<section id=\"\($0.id)\" class=\"\($0.alarm ? "alarm" : "")\"><h2>\(escape($0.title))</h2>\($0.body)</section>"
        }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="60">
            <title>\(escape(title))</title>
            <style>\(css)</style></head>
            <body><header><h1>\(escape(title))</h1><span class="note">generated \(time(nowMs)) · <span id="build">gobot \(escape(BuildInfo.version)) (commit \(escape(BuildInfo.commit)))</span></span></header>
            <main>
            \(body)
            </main></body></html>

            """
    }

    static let css = """
        body{font:14px/1.4 "DejaVu Sans",system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
        header{display:flex;align-items:baseline;gap:1em;padding:12px 20px;background:#1d2330;color:#fff}
        header h1{font-size:20px;margin:0}header .note{color:#b8c0cc}
        main{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px;padding:14px}
        section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px}
        section.alarm{border:2px solid #c62828}
        #overview,#signals,#health{grid-column:1/-1}
        h2{font-size:15px;margin:0 0 8px;color:#3a4356}
        .tiles{display:flex;flex-wrap:wrap;gap:10px}
        .tile{flex:1 1 150px;border:1px solid #e3e6eb;border-radius:6px;padding:8px 10px}
        .tile .label{font-size:12px;color:#5b6474;text-transform:uppercase;letter-spacing:.03em}
        .tile .value{font-size:26px;font-weight:bold;font-variant-numeric:tabular-nums}
        .tile .sub{font-size:12px;color:#5b6474}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
        th{font-size:12px;color:#5b6474;font-weight:normal}
        .good{color:#1b7f3b}.bad{color:#c62828}.warn{color:#b26a00}
        .state{font-weight:bold;padding:1px 6px;border-radius:3px}
        .state.ok{background:#e3f4e8;color:#1b7f3b}.state.stale{background:#c62828;color:#fff}.state.waiting{background:#eef0f3;color:#5b6474}
        .note{color:#5b6474;font-size:12px}.empty{color:#5b6474;font-style:italic}
        .limit{display:flex;align-items:center;gap:8px;margin:4px 0}
        .lname{width:170px}.lval{width:170px;text-align:right;font-variant-numeric:tabular-nums}
        .bar{flex:1;height:10px;background:#eceef2;border-radius:5px;overflow:hidden}
        .fill{display:block;height:100%}.fill.good{background:#43a047}.fill.warn{background:#fb8c00}.fill.bad{background:#c62828}
        .signal{border-top:1px solid #eceef2;padding:8px 0}
        .reason{margin:2px 0}.conf{font-weight:bold}
        .thumbs{display:flex;gap:6px;margin-top:4px}.thumbs img{width:240px;height:auto;border:1px solid #dde1e7}
        ul{margin:0;padding-left:18px}
        """

    // MARK: formatting

    static func tile(_ label: String, _ value: String, sub: String, id: String, tone: String = "") -> String {
        "<div class=\"tile\" id=\"tile-\(id)\"><div class=\"label\">\(escape(label))</div><div class=\"value \(tone)\">\(escape(value))</div><div class=\"sub\">\(escape(sub))</div></div>"
    }

    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        "<table><tr>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }

    static func escape(_ s: String) -> String {
        BacktestReport.escape(s).replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Rounded to the cent first, so a tiny loss never shows as a red "-0.00".
    static func usd(_ v: Double, signed: Bool = true) -> String {
        let cents = (v * 100).rounded() / 100
        return String(format: signed ? "%+.2f USD" : "%.2f USD", cents == 0 ? 0 : cents)
    }

    static func tone(_ v: Double) -> String { (v * 100).rounded() < 0 ? "bad" : "good" }

    static func pct(_ v: Double) -> String { String(format: "%.0f%%", v * 100) }

    static func fmt(_ v: Double) -> String {
        var s = String(format: "%.6f", v)
        while s.contains("."), s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    static func time(_ ms: Int64) -> String { TradingCalendar.minuteString(ms) + " UTC" }

    static func ago(_ nowMs: Int64, _ ms: Int64?) -> String {
        guard let ms else { return "" }
        return "\(StepHealth.ageText(seconds: max(0, (nowMs - ms) / 1000))) ago"
    }
}
