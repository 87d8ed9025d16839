import Dispatch

/// Maps `0..<count` on every core (DispatchQueue.concurrentPerform), results in index order.
/// Each iteration writes only its own slot, so the shared buffer needs no lock.
public enum ParallelMap {
    public static func map<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let slots = Slots<T>(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in slots.set(i, body(i)) }
        return slots.values()
    }

    private final class Slots<T>: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<T?>
        let count: Int
        init(_ count: Int) {
            self.count = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: nil, count: count)
        }
        func set(_ i: Int, _ value: T) { pointer[i] = value }
        func values() -> [T] { (0..<count).map { pointer[$0]! } }
        deinit {
            pointer.deinitialize(count: count)
            pointer.deallocate()
        }
    }
}
