/// What ran: the version and the git commit the binary was built from, for `gobot --version`,
/// `status --json`, metrics and the dashboard (support needs to know which build misbehaved).
///
/// The commit comes from `BuildInfoPlugin`, which writes it into a generated file before every
/// build (`unknown` when neither git nor a `BUILD_COMMIT` file is available).
public enum BuildInfo {
    public static let version = "0.7.0"
    public static let commit: String = generatedBuildCommit

    /// `gobot 0.7.0 (commit 1a2b3c4d5e6f)`
    public static var line: String { "gobot \(version) (commit \(commit))" }
}
