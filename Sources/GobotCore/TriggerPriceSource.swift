/// Which price the simulated stops and targets triggered on, so a report can say so.
public enum TriggerPriceSource: String, Sendable, Equatable {
    /// Mark-price klines for every symbol traded, as live (`workingType=MARK_PRICE`).
    case markPrice = "mark price"
    /// No mark-price klines: last-price highs and lows, kinder or harsher than live by the basis.
    case lastPrice = "last price"
    /// Mark price for some symbols or minutes only.
    case mixed = "mark price where known, else last price"

    /// From how many symbols had mark-price klines covering their whole series.
    public static func from(withMark: Int, of total: Int) -> TriggerPriceSource {
        withMark == 0 ? .lastPrice : withMark == total ? .markPrice : .mixed
    }
}
