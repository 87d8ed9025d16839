import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An flock(2) on a file: the kernel releases it when the process exits or crashes, which is
/// exactly the lifetime a cron step needs.
public final class FileLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case held(path: String)
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .held(let path): "another gobot process holds \(path); try again later"
            case .cannotOpen(let path, let e): "cannot open lock file \(path): \(String(cString: strerror(e)))"
            }
        }
    }

    /// Takes the lock without waiting; a held lock is reported at once.
    public static func acquire(path: String) throws(Failure) -> FileLock {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK { throw .held(path: path) }
            throw .cannotOpen(path: path, errno: e)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return FileLock(path: path, fd: fd)
    }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
