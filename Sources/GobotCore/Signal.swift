/// Which way the analyst would trade.
public enum Direction: String, Sendable, Equatable, Codable {
    case long, short, none
}

/// Whether the timeframes an analyst looked at agree, in its own words (the vision analyst's
/// `timeframe_agreement`); the scorecard reports hit rates by it.
public enum TimeframeAgreement: String, Sendable, Equatable, Codable, CaseIterable {
    case aligned, mixed, conflicting
}

/// An analyst's answer. Only direction and confidence are used by the gate; any prices an
/// analyst mentions are ignored and recomputed from config.
public struct Signal: Sendable, Equatable {
    public var direction: Direction
    public var confidence: Double
    public var rationale: String
    public var model: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Double
    /// nil when the analyst does not state it (the rules analyst, an unusable answer).
    public var timeframeAgreement: TimeframeAgreement?

    public init(direction: Direction, confidence: Double, rationale: String, model: String,
                promptTokens: Int = 0, completionTokens: Int = 0, costUSD: Double = 0, timeframeAgreement: TimeframeAgreement? = nil) {
        self.timeframeAgreement = timeframeAgreement
        self.direction = direction
        self.confidence = confidence
        self.rationale = rationale
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}
