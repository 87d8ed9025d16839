import Foundation

/// Small statistics for reports and acceptance checks.
public enum Statistics {
    /// Wilson score interval for a proportion (95 % with z = 1.96).
    public static func wilson(successes: Int, trials: Int, z: Double = 1.96) -> (low: Double, high: Double) {
        guard trials > 0 else { return (0, 1) }
        let n = Double(trials), p = Double(successes) / n
        let denom = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denom
        let half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        return (max(0, centre - half), min(1, centre + half))
    }

    /// Largest peak-to-trough fall of an equity curve, in the curve's units.
    public static func maxDrawdown(_ equity: [Double]) -> Double {
        var peak = -Double.infinity, worst = 0.0
        for e in equity {
            peak = max(peak, e)
            worst = max(worst, peak - e)
        }
        return worst
    }
}

/// UTC calendar boundaries for daily and weekly limits.
public enum TradingCalendar {
    public static let dayMs: Int64 = 86_400_000

    public static func startOfDay(_ ms: Int64) -> Int64 { ms - ((ms % dayMs) + dayMs) % dayMs }

    /// Monday 00:00 UTC of the week containing `ms` (1970-01-01 was a Thursday).
    public static func startOfWeek(_ ms: Int64) -> Int64 {
        let day = startOfDay(ms) / dayMs
        let weekday = ((day + 3) % 7 + 7) % 7  // 0 = Monday
        return (day - weekday) * dayMs
    }

    public static func dayString(_ ms: Int64) -> String {
        let d = Date(timeIntervalSince1970: Double(ms) / 1000)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: d)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// `2025-05-20 13:05`, UTC: the one way reports, the dashboard and data tools write a minute.
    public static func minuteString(_ ms: Int64) -> String {
        let m = (ms - startOfDay(ms)) / 60_000
        return dayString(ms) + String(format: " %02d:%02d", m / 60, m % 60)
    }
}
