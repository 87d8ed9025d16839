/// Which way the analyst would trade.
public enum Direction: String, Sendable, Equatable, Codable {
    case long, short, none
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

    public init(direction: Direction, confidence: Double, rationale: String, model: String,
                promptTokens: Int = 0, completionTokens: Int = 0, costUSD: Double = 0) {
        self.direction = direction
        self.confidence = confidence
        self.rationale = rationale
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}
