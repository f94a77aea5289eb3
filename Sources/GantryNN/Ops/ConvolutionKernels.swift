/// Which convolution kernels may run. Every kernel choice — Winograd, the direct voxel-vector rows
/// (and their row pairs), the channel-vector and sliding kernels — first asks this, then applies
/// its own size rules (beside each kernel, with the measurements behind them). All are allowed by
/// default; tests and `gantry-bench` narrow the set for one scope to compare kernels:
///
///     try ConvolutionKernels.with(.init(direct: false)) { try layer.forward(x) }
///
/// The value is task-local: a setting never leaks into other tests' or threads' work, and the
/// library reads no environment variable (the bench reads GANTRY_DIRECT and friends and passes
/// them here). Kernels that run on worker threads are chosen before the work is spread out.
public struct ConvolutionKernels: Sendable, Equatable {
    public var winograd: Bool
    public var direct: Bool
    /// Two rows at a time in the direct kernels (AVX-512 builds only).
    public var rowPairs: Bool
    /// The channel-vector and sliding kernels (AVX-512 builds only).
    public var channelVectors: Bool

    public init(winograd: Bool = true, direct: Bool = true, rowPairs: Bool = true, channelVectors: Bool = true) {
        self.winograd = winograd; self.direct = direct; self.rowPairs = rowPairs; self.channelVectors = channelVectors
    }

    @TaskLocal public static var allowed = ConvolutionKernels()

    /// Runs `body` with only `kernels` allowed.
    public static func with<T>(_ kernels: ConvolutionKernels, _ body: () throws -> T) rethrows -> T {
        try $allowed.withValue(kernels, operation: body)
    }
}
