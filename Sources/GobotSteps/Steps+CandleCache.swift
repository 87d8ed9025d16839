import GobotCore
import GobotStore

extension Steps {
    /// Stored candles are a cache of the exchange's. One that does not read (a damaged row) is
    /// deleted with the rest of its symbol's, and the next scan fetches them again: one bad row
    /// must not stop every scan and analysis until someone edits the file (scan only fetches
    /// after the newest stored candle, so it would never overwrite it).
    /// - Returns: nil when the read met damage and the symbol's candles were deleted.
    static func readingCandleCache<T>(_ ctx: StepContext, symbol: String, _ read: () throws -> T) throws -> T? {
        do { return try read() } catch let error as RowDecodingError where error.table == "candles" {
            try ctx.db.deleteCandles(symbol: symbol)
            Alerts.send(ctx, kind: "error", key: "candles-damaged-\(symbol)-\(TradingCalendar.startOfDay(ctx.nowMs))",
                        text: "⚠️ \(error); gobot deleted the stored candles of \(symbol) and fetches them again on the next scan")
            return nil
        }
    }
}
