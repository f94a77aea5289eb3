import Dispatch
import Foundation

/// Work sharing over the machine's cores. The thread count is a value handed down, not a global
/// switch: the program sets its default once (`setDefaultThreads`, from `--threads` or
/// GANTRY_NUM_THREADS, which only the CLI reads), and a caller that shares the cores between
/// concurrent jobs (the pipeline executor) scopes its own count with `withThreads` on each job's
/// thread, without touching other threads' counts.
public enum Parallel {
    /// The count for the current thread or task, when a caller scoped one.
    @TaskLocal static var scoped: Int?

    /// The process default (all cores unless the program set it), behind a lock.
    private static let processDefault = LockedValue(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Number of worker threads `forEach` uses here.
    public static var threads: Int { scoped ?? processDefault.value }

    /// Sets the default for the whole program: call once at start-up, before any work.
    public static func setDefaultThreads(_ n: Int) { processDefault.value = max(1, n) }

    /// Runs `body` with `n` worker threads for the work it starts on this thread (or task).
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        try $scoped.withValue(max(1, n)) { try body() }
    }

    /// `forEach` when the work is large enough to pay for waking the workers (`work` ≈ values
    /// touched), a plain loop otherwise.
    public static func forEach(_ count: Int, work: Int, _ body: (Int) -> Void) {
        if work < 1 << 15 {
            for i in 0..<count { body(i) }
        } else {
            forEach(count, body)
        }
    }

    /// Runs `body(i)` for `i` in `0..<count`, spread over `threads` workers in contiguous chunks.
    /// `body` must only touch disjoint data per index.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = DisjointWork(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers, hi = count * (w + 1) / workers
                for i in lo..<hi { shared.body(i) }
            }
        }
    }
}

/// The one place Gantry opts out of Sendable checking: a `forEach` body runs on several threads at
/// once, and numeric kernels hand it raw buffer pointers into which each index writes its own
/// disjoint part. That promise (stated on `forEach`) is what makes it safe; the compiler cannot see
/// it through a pointer, so the body is passed across threads unchecked here and nowhere else. The
/// package's test suite runs under ThreadSanitizer (`make tsan`) to check the promise.
private struct DisjointWork: @unchecked Sendable {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

/// A value read and written under a lock (for the few process-wide settings a program makes once).
public final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    public init(_ value: T) { stored = value }
    public var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
