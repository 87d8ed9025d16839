import Foundation

/// A request to stop, from SIGTERM (systemd at `TimeoutStartSec` and on shutdown) or SIGINT.
///
/// The CLI sets it from a signal source; steps read it through ``StepContext/stop`` before
/// each action that opens risk (no new entry once it is set), and finish what protects
/// (a stop being placed completes). The runner then records the run as `terminated`.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var handlers: [@Sendable (Int32) -> Void] = []

    public init() {}

    /// The signal number, once a stop was requested.
    public var signal: Int32? { lock.withLock { received } }
    public var isRequested: Bool { signal != nil }

    /// "SIGTERM", "SIGINT" or "signal N", for messages.
    public var signalName: String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case let s?: "signal \(s)"
        case nil: "no signal"
        }
    }

    /// Records the request; only the first one counts, later ones are ignored.
    public func request(signal: Int32) {
        let toCall: [@Sendable (Int32) -> Void] = lock.withLock {
            guard received == nil else { return [] }
            received = signal
            defer { handlers = [] }
            return handlers
        }
        for h in toCall { h(signal) }
    }

    /// Calls `handler` once a stop is requested (at once if it already was).
    public func onRequest(_ handler: @escaping @Sendable (Int32) -> Void) {
        let already: Int32? = lock.withLock {
            if received == nil { handlers.append(handler) }
            return received
        }
        if let already { handler(already) }
    }
}
