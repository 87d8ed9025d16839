#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file: parsing reads the page cache directly, and a seek
/// by time touches only the pages it bisects and the window it parses.
public final class MappedFile: @unchecked Sendable {
    public enum OpenError: Error, CustomStringConvertible {
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let e): "cannot read \(path): \(String(cString: strerror(e)))"
            }
        }
    }

    public let path: String
    let base: UnsafeRawPointer?
    public let count: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OpenError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OpenError.cannotOpen(path: path, errno: errno) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw OpenError.cannotOpen(path: path, errno: errno) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The bytes, valid while `body` runs.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        guard let base else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try withExtendedLifetime(self) { try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)) }
    }
}
