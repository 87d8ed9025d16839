import Dispatch
import Foundation
import GobotSteps
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM (systemd at `TimeoutStartSec` and on shutdown) and SIGINT into a stop request
/// the step can see, instead of the default action that kills the process mid-step.
enum SignalTrap {
    /// The sources must live as long as the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install(_ stop: StopSignal) {
        for signo in [SIGTERM, SIGINT] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { stop.request(signal: signo) }
            source.resume()
            sources.append(source)
        }
    }
}
