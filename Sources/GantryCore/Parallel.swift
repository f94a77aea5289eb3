import Dispatch
import Foundation

/// Work sharing over the machine's cores. Gantry's default is all available cores; set
/// `GANTRY_NUM_THREADS` (or `Parallel.threads`) to limit it.
public enum Parallel {
    nonisolated(unsafe) private static var override: Int? = nil

    /// Number of worker threads used by `forEach`.
    public static var threads: Int {
        get {
            override ?? defaultThreads
        }
        set { override = max(1, newValue) }
    }

    /// `GANTRY_NUM_THREADS` or the core count, read once (building the environment dictionary on
    /// every op would cost more than a small op itself).
    private static let defaultThreads: Int = {
        if let s = ProcessInfo.processInfo.environment["GANTRY_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

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
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers, hi = count * (w + 1) / workers
                for i in lo..<hi { body(i) }
            }
        }
    }
}
