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
    nonisolated(unsafe) private static var applied = false

    /// Keep blocks up to 512 MiB on the heap and do not trim it back eagerly. Idempotent.
    public static func reuseLargeBlocks() {
        guard !applied else { return }
        applied = true
        #if os(Linux)
        _ = glibcMallopt(mMmapThreshold, 512 << 20)
        _ = glibcMallopt(mTrimThreshold, 1 << 30)
        #endif
    }
}
