#if canImport(Glibc)
import Glibc
#endif
#if os(Linux)
/// glibc's mallopt (malloc.h is not part of the Glibc module map).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let mTrimThreshold: Int32 = -1, mMmapThreshold: Int32 = -3
#endif

/// Allocator settings for tensor work. glibc serves blocks over 128 KiB with fresh mmap pages and
/// unmaps them on free, so every activation, column buffer and gradient of a training step is
/// page-faulted and zeroed by the kernel again (≈ 15 % of a recurrent-network step was the
/// kernel clearing pages). Keeping large blocks on the heap lets freed ones be reused.
public enum MemoryPolicy {
    /// Keep blocks up to 512 MiB on the heap and do not trim it back eagerly. Idempotent.
    public static func reuseLargeBlocks() { _ = applyOnce }

    /// Runs once per process (a static's lazy initialiser is thread-safe).
    private static let applyOnce: Void = {
        #if os(Linux)
        _ = glibcMallopt(mMmapThreshold, 512 << 20)
        _ = glibcMallopt(mTrimThreshold, 1 << 30)
        #endif
    }()

    /// Asks the kernel to back a large fresh buffer with 2 MiB pages (where transparent huge pages
    /// are given on request, Debian's default): filling it then takes one page fault per 2 MiB
    /// instead of one per 4 KiB, and page faults are most of the cost of filling a fresh buffer
    /// (a large NIfTI read). Advice only: nothing changes where the kernel declines.
    public static func adviseHugePages(_ p: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let huge = 2 << 20
        guard bytes >= 4 * huge else { return }
        let start = (Int(bitPattern: p) + huge - 1) / huge * huge, end = (Int(bitPattern: p) + bytes) / huge * huge
        if end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) { _ = madvise(aligned, end - start, MADV_HUGEPAGE) }
        #endif
    }
}
