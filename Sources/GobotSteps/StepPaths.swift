import Foundation

/// Where a step's files live under the state directory (see DESIGN.md, "Files on disk").
public struct StepPaths: Sendable, Equatable {
    public var stateDir: String

    public init(stateDir: String) { self.stateDir = stateDir }

    public var database: String { "\(stateDir)/gobot.sqlite" }
    public var locksDir: String { "\(stateDir)/locks" }
    public var metricsFile: String { "\(stateDir)/metrics/gobot.prom" }
    public var chartsDir: String { "\(stateDir)/charts" }
    public var reportsDir: String { "\(stateDir)/reports" }
    public func lock(_ name: String) -> String { "\(locksDir)/\(name).lock" }

    public func createDirectories() throws {
        try StateFileModes.createStateDirectory(stateDir)
        for dir in [stateDir, locksDir, "\(stateDir)/metrics", chartsDir, reportsDir] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }
}
