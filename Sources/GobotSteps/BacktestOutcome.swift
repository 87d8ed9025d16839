import Foundation
import GobotCore
import GobotStore

/// What a backtest reports, from either engine: the in-memory engine (`gobot backtest`) or the
/// cron steps through SQLite (`gobot backtest --pipeline`).
public struct BacktestOutcome: Sendable {
    public struct Trade: Sendable {
        public var symbol: String
        public var side: PositionSide
        public var quantity: Decimal
        public var entryPrice: Decimal
        public var openedAtMs: Int64
        /// nil while the position is still open at the end of the run.
        public var closedAtMs: Int64?
        public var exitPrice: Decimal?
        public var exitReason: String
        /// Closed: realized P&L after fees and funding. Open: unrealized P&L at `markPrice`.
        public var net: Decimal
        public var markPrice: Decimal?
        public var isOpen: Bool { closedAtMs == nil }
    }

    public var engine: String
    public var trades: [Trade]
    public var realized: Decimal
    public var commission: Decimal
    public var funding: Decimal
    public var net: Decimal { realized + commission + funding }
    /// Equity per cycle with open positions marked to market.
    public var markedEquity: [(ms: Int64, usd: Double)]
    public var startMs: Int64
    public var endMs: Int64
    public var candles: Int
    public var initialCapital: Decimal
    /// Gate rejections of actionable signals, by reason code.
    public var rejections: [String: Int]
    /// Whether stops and targets triggered on mark-price klines (as live) or on the last price.
    public var triggerSource: TriggerPriceSource
    /// Symbols that can never trade under the config, with the reason.
    public var neverTradable: [String]
    /// Break-even win rate, random baseline and verdict (docs/EVALUATION.md).
    public var edgeLines: [String] = []
    /// What the analyst was asked, what it cost and how many decisions were skipped, and why.
    public var analystLines: [String] = []

    public var closed: [Trade] { trades.filter { !$0.isOpen } }
    public var open: [Trade] { trades.filter(\.isOpen) }
    public var wins: Int { closed.filter { $0.net > 0 }.count }
    public var unrealized: Decimal { open.reduce(0) { $0 + $1.net } }
    public var maxDrawdownUSD: Double { Statistics.maxDrawdown(markedEquity.map(\.usd)) }

    /// Lines naming every symbol of `lowest` (lowest price in the run) that can never be entered.
    public static func neverTradable(lowest: [String: Double], rules: [String: SymbolRules], config: GobotConfig) -> [String] {
        lowest.keys.sorted().compactMap {
            SymbolFit.reasonNeverTradable(symbol: $0, rules: rules[$0], lowestPrice: lowest[$0] ?? 0, maxPositionUSD: config.trading.maxPositionUSD)
        }
    }

    static func unrealized(side: PositionSide, quantity: Decimal, entry: Decimal, mark: Decimal) -> Decimal {
        ((mark - entry) * quantity * (side == .long ? 1 : -1)).rounded(scale: 8)
    }

    /// One line per trade: entry and exit to the minute; an open position says so and is marked.
    public static func line(_ p: Trade) -> String {
        let side = p.side.rawValue, qty = p.quantity.plainString, entry = p.entryPrice.plainString
        if p.isOpen {
            return "\(TradingCalendar.minuteString(p.openedAtMs)) → OPEN at the end  \(side) \(p.symbol) qty \(qty) @ \(entry), marked at \(p.markPrice?.plainString ?? "-"), "
                + "unrealized \(p.net.rounded(scale: 4)) USD"
        }
        return "\(TradingCalendar.minuteString(p.openedAtMs)) → \(p.closedAtMs.map(TradingCalendar.minuteString) ?? "-")  \(side) \(p.symbol) qty \(qty) @ \(entry) → "
            + "\(p.exitPrice?.plainString ?? "-") \(p.exitReason) net \(p.net.rounded(scale: 4))"
    }

    /// The printed summary; `listing` trades at most (the HTML report lists them all).
    public func summary(listing: Int = 20) -> String {
        let closed = self.closed, open = self.open
        let w = Statistics.wilson(successes: wins, trials: closed.count)
        var lines = ["backtest (\(engine)) \(TradingCalendar.minuteString(startMs)) → \(TradingCalendar.minuteString(endMs)) UTC, \(candles) 1m candles"]
        for reason in neverTradable { lines.append("never tradable: \(reason)") }
        lines += [
            "trades: \(closed.count) closed, \(wins) won" + (closed.isEmpty ? "" : String(format: ", win rate %.1f%% (95%% Wilson %.1f–%.1f%%)",
                Double(wins) / Double(closed.count) * 100, w.low * 100, w.high * 100)) + (open.isEmpty ? "" : ", \(open.count) still open"),
            "net P&L: \(net.rounded(scale: 4)) USD booked (realized \(realized.rounded(scale: 4)), fees \(commission.rounded(scale: 4)), funding \(funding.rounded(scale: 4)))",
        ]
        if !open.isEmpty {
            lines.append("open at the end: \(open.count) position\(open.count == 1 ? "" : "s"), unrealized \(unrealized.rounded(scale: 4)) USD marked to market; "
                + "net including open: \((net + unrealized).rounded(scale: 4)) USD")
        }
        lines.append(String(format: "max drawdown: %.4f USD (marked to market, open positions count)", maxDrawdownUSD))
        lines.append("fills: stops and targets trigger on \(triggerSource.rawValue)"
            + (triggerSource == .lastPrice ? " (no markprice/ data; live uses the mark price)" : "") + ", slippage on every market fill")
        lines += edgeLines
        lines += analystLines
        lines.append("rejected by reason: " + (rejections.isEmpty ? "none" : rejections.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        let shown = Array(closed.suffix(listing)) + open
        if closed.count > listing { lines.append("  … \(closed.count - listing) earlier trades in the HTML report; the last \(listing):") }
        for p in shown { lines.append("  " + Self.line(p)) }
        return lines.joined(separator: "\n")
    }
}
