import GantryCore

/// Which convolution kernels may run. All are allowed by default; tests and `gantry-bench` narrow
/// the set for one scope to compare kernels:
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
    /// The tap-plane GEMM for layers with few outputs per tap (`convolveTapPlanes`).
    public var tapPlanes: Bool
    /// Weight gradients of Winograd layers by the same tiles (`weightGradientWinograd`).
    public var winogradWeightGradient: Bool

    public init(winograd: Bool = true, direct: Bool = true, rowPairs: Bool = true, channelVectors: Bool = true, tapPlanes: Bool = true,
                winogradWeightGradient: Bool = true) {
        self.winograd = winograd; self.direct = direct; self.rowPairs = rowPairs; self.channelVectors = channelVectors; self.tapPlanes = tapPlanes
        self.winogradWeightGradient = winogradWeightGradient
    }

    @TaskLocal public static var allowed = ConvolutionKernels()

    /// Runs `body` with only `kernels` allowed.
    public static func with<T>(_ kernels: ConvolutionKernels, _ body: () throws -> T) rethrows -> T {
        try $allowed.withValue(kernels, operation: body)
    }
}

/// The kernel that computes a convolution, and every rule that picks it: which kernel runs a layer,
/// and why, is answered here. Forward convolutions, the input gradients of stride-1 ones (forward
/// convolutions of dY with the flipped kernel), transposed convolutions and weight gradients all
/// choose in this file; the kernels' files hold only their loops. Each threshold carries the A/B
/// measurement (CPU time, alternating runs) that set it.
///
/// Decided before any of these, in `Tensor.conv`: depthwise stride-1 layers (`takesDepthwise`) and
/// unpadded stride-1 1×1×1 layers (`takesPointwise`) have kernels of their own.
enum ConvolutionBackend: Equatable, Sendable {
    /// F(4×4, 3×3) Winograd on 2D planes (`convolveWinograd`).
    case winograd
    /// Vectors across output channels sliding along x, one or two lanes of channels
    /// (`directSlidingRow`, `directSlidingRowPair`).
    case sliding(lanes: Int)
    /// Vectors across two lanes of output channels (`directChannelsRow`).
    case channelVectors
    /// Vectors across output voxels, `rowsPerJob` output rows per job (`directRows`).
    case directRows(rowsPerJob: Int)
    /// Per-tap GEMMs on the zero-padded input, stride 1 (`convolveShifted`).
    case shiftedGEMM
    /// One GEMM for every tap's product plane, then shifted sums, 2D stride 1 (`convolveTapPlanes`).
    case tapPlanes
    /// Gathered patches (im2col) and one GEMM per tile of an output plane, strided (`convolve`).
    case im2colGEMM

    /// Transposed convolutions.
    enum Transposed: Equatable, Sendable {
        /// Kernel = stride: every input voxel paints its own block (`blockTransposed`).
        case blocks
        /// Output phases by the direct kernels (`convTransposeDirect`).
        case directPhases
        /// Columns by GEMM, scattered into the output (`scatterTransposed`).
        case scatterGEMM
    }

    /// Weight gradients of stride-1 convolutions.
    enum WeightGradient: Equatable, Sendable {
        /// Whole weight-gradient vectors across output channels (`weightGradientChannels`).
        case channelVectors
        /// Runs of voxel vectors, two rows at a time when `rowPairs` (`weightGradientRun`).
        case directRuns(rowPairs: Bool)
        /// Per-tap GEMMs on the padded-width dY (`weightGradientShifted`).
        case shiftedGEMM
    }

    // MARK: choosing

    /// A forward convolution with `groups` groups on `geo`.
    static func forward(cin: Int, cout: Int, groups: Int, geometry geo: Im2Col, allowed: ConvolutionKernels = .allowed) -> ConvolutionBackend {
        let unitStride = geo.stride == [1, 1, 1]
        if unitStride, takesWinograd(cin: cin, cout: cout, groups: groups, geometry: geo.padded, allowed: allowed) { return .winograd }
        if unitStride, takesTapPlanes(cin: cin, cout: cout, groups: groups, geometry: geo.padded, allowed: allowed) { return .tapPlanes }
        return direct(cout: cout, groups: groups, geometry: geo, allowed: allowed) ?? (unitStride ? .shiftedGEMM : .im2colGEMM)
    }

    /// The direct kernel that takes a convolution, if one does: sliding before channel vectors
    /// before voxel-vector rows (each is faster than the next where both apply).
    static func direct(cout: Int, groups: Int, geometry geo: Im2Col, allowed: ConvolutionKernels = .allowed) -> ConvolutionBackend? {
        if takesSliding(cout: cout, groups: groups, width: geo.ow, kernelWidth: geo.kw, strideX: geo.stride[2], dilationX: geo.dilation[2], allowed: allowed) {
            return .sliding(lanes: cout <= Lane.scalarCount ? 1 : 2)
        }
        if takesChannelVectors(cout: cout, groups: groups, width: geo.ow, allowed: allowed) { return .channelVectors }
        if takesDirectRows(cout: cout, groups: groups, width: geo.ow, allowed: allowed) {
            return .directRows(rowsPerJob: rowsPerJob(width: geo.ow, strideY: geo.stride[1], allowed: allowed))
        }
        return nil
    }

    /// A transposed convolution (`kernel` … `outputPadding` per axis) with `cout` output channels
    /// in rows of `width` voxels.
    static func transposed(kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], outputPadding: [Int], cout: Int, groups: Int, width: Int,
                           allowed: ConvolutionKernels = .allowed) -> Transposed {
        if takesBlocks(kernel: kernel, stride: stride, padding: padding, dilation: dilation, outputPadding: outputPadding) { return .blocks }
        return takesDirectRows(cout: cout, groups: groups, width: width, allowed: allowed) ? .directPhases : .scatterGEMM
    }

    /// The weight gradient of a stride-1 convolution with `coutG` output channels per group.
    static func weightGradient(coutG: Int, geometry geo: PaddedGeometry, allowed: ConvolutionKernels = .allowed) -> WeightGradient {
        if takesChannelWeightGradient(coutG: coutG, geometry: geo, allowed: allowed) { return .channelVectors }
        if allowed.direct && geo.kw == 3 && coutG <= 32 { return .directRuns(rowPairs: rowPairs(allowed)) }
        return .shiftedGEMM
    }

    // MARK: the rules

    /// Depthwise stride-1 convolutions (groups = channels = output channels) go to `depthwise`: one
    /// filter per channel streams its taps past registers, where a GEMM would have one row.
    static func takesDepthwise(channels: Int, cout: Int, groups: Int, stride: [Int]) -> Bool {
        groups == channels && cout == channels && groups > 1 && stride == [1, 1, 1]
    }

    /// Unpadded stride-1 1×1(×1) convolutions are one GEMM over all voxels (`pointwise`).
    static func takesPointwise(kernel: [Int], stride: [Int], padding: [Int]) -> Bool {
        kernel.reduce(1, *) == 1 && stride == [1, 1, 1] && padding == [0, 0, 0]
    }

    /// AVX-512's 32 vector registers: the channel-vector kernels keep 22–26 accumulators, and row
    /// pairs double the direct kernels' accumulators; with 16 registers (AVX2) both would spill.
    #if GANTRY_AVX512
    static let wideRegisters = true
    #else
    static let wideRegisters = false
    #endif

    /// Whether the direct kernels compute two rows at a time (`directRowPair`).
    static func rowPairs(_ allowed: ConvolutionKernels) -> Bool { wideRegisters && allowed.rowPairs }

    /// Output rows per job of the direct kernels: pairs (y, y + 1) — as the two lanes of a run when a
    /// row is at most one lane, else through `directRowPair` at stride 1 along y, where the two rows
    /// share all but one input row (with stride 2 it measured 1.08× the time).
    static func rowsPerJob(width: Int, strideY: Int, allowed: ConvolutionKernels = .allowed) -> Int {
        width <= Lane.scalarCount || (rowPairs(allowed) && strideY == 1) ? 2 : 1
    }

    /// Whether a stride-1 layer's weight gradient is taken by the Winograd tiles: every layer whose
    /// forward they take. Measured (alternating A/B, AMD EPYC): a RIM IndRNN-64 training step
    /// 2.99–3.04 s against 3.18–3.22 s by per-tap GEMMs.
    static func takesWinogradWeightGradient(cin: Int, cout: Int, groups: Int, geometry geo: PaddedGeometry, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.winogradWeightGradient && takesWinograd(cin: cin, cout: cout, groups: groups, geometry: geo, allowed: allowed)
    }

    /// Whether the per-tap GEMMs stack a run's taps into one operand (forward: K = Cin/G·taps;
    /// weight gradient: N = Cin/G·taps): with fewer than 16 input channels per group a GEMM per
    /// tap has a K (or N) too small to run near peak.
    static func stacksTaps(channelsPerGroup cg: Int, taps: Int) -> Bool {
        cg < 16 && taps > 1
    }

    /// The Winograd path serves dense 2D 3×3 stride-1 convolutions with equal dilation on both axes
    /// and enough channels and pixels for the transforms to pay (below that the direct GEMMs win).
    static func takesWinograd(cin: Int, cout: Int, groups: Int, geometry geo: PaddedGeometry, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.winograd && groups == 1 && geo.kd == 1 && geo.kh == 3 && geo.kw == 3 && geo.dilation[1] == geo.dilation[2]
            && geo.padding[0] == 0 && cin >= 16 && cout >= 16 && geo.oh * geo.ow >= 1024
    }

    /// Whether the tap-plane GEMM takes a dense 2D stride-1 convolution: at most 128 products per
    /// pixel (Cout·kh·kw, the GEMM's M) and 16+ input channels (its K). Measured at 320² (AMD
    /// EPYC, AVX2): a RIM's last layer, 3×3 64 → 2 with replication padding, 0.0103 s by the
    /// direct rows after a padded copy, 0.0058 s here after the copy, 0.0034 s reading the edges
    /// in place; its first layer's input gradient, 5×5 64 → 4, 0.0132 s by the direct rows,
    /// 0.0123 s here.
    static func takesTapPlanes(cin: Int, cout: Int, groups: Int, geometry geo: PaddedGeometry, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.tapPlanes && groups == 1 && geo.kd == 1 && geo.padding[0] == 0 && cin >= 16 && cout * geo.kh * geo.kw <= 128
    }

    /// Whether the direct voxel-vector kernels take a convolution: one group and at most 16 output
    /// channels, or 32 on rows of 64+ voxels or of at most one lane (run in pairs). Measured: a
    /// 32 → 32 3×3×3 layer at 64³ ran 0.094 s direct vs 0.109 s by per-tap GEMMs; on 16-voxel rows
    /// (paired) 16 → 32 stride 2 took 0.55× and 32 → 32 0.86× the GEMM's time, but 64 → 64 1.04×
    /// (its input no longer fits L1 across a run's channel blocks).
    static func takesDirectRows(cout: Int, groups: Int, width: Int, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.direct && groups == 1 && (cout <= 16 || (cout <= 32 && (width >= 64 || width <= Lane.scalarCount)))
    }

    /// Whether `directChannelsRow` takes a convolution (one group) with `cout` output channels and
    /// rows of `width` voxels (narrower rows waste too much of a 13-voxel run; 16 or fewer channels
    /// leave the second lane empty, where `directRow` is better). Measured: strided or dilated along
    /// x, 3×3×3 layers at stride 2: 16 → 32 to 64³ 0.92× `directRow`, 32 → 32 to 32³ 0.71× and
    /// 32 → 24 to 48³ 0.62× the GEMM path.
    static func takesChannelVectors(cout: Int, groups: Int, width: Int, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.direct && wideRegisters && allowed.channelVectors && groups == 1 && cout > Lane.scalarCount && cout <= 2 * Lane.scalarCount && width >= 24
    }

    /// Whether `directSlidingRow` (≤ 16 channels) or `directSlidingRowPair` (17–32) takes a
    /// convolution: 22 accumulators and 3–6 weight vectors (AVX-512's registers), three taps along x
    /// at stride 1 and dilation 1, rows long enough for the runs, and more than half a lane of
    /// channels. Measured (one 3×3×3 layer at 64³ against `directRow`): 32 → 32 0.66×, 16 → 16 0.80×
    /// (0.74× at 128³), 12 → 12 0.93×, but 8 → 8 1.33× and 4 → 4 2.0× (lanes mostly empty).
    static func takesSliding(cout: Int, groups: Int, width: Int, kernelWidth: Int, strideX: Int, dilationX: Int,
                        allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.direct && wideRegisters && allowed.channelVectors && groups == 1 && kernelWidth == 3 && strideX == 1 && dilationX == 1
            && cout > Lane.scalarCount / 2 && cout <= 2 * Lane.scalarCount && width >= (cout <= Lane.scalarCount ? 32 : 24)
    }

    /// Transposed convolutions whose kernel equals the stride (no padding, dilation or output
    /// padding) — U-Nets' 2× up-sampling: blocks do not overlap, so every output is written once.
    static func takesBlocks(kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], outputPadding: [Int]) -> Bool {
        kernel == stride && padding.allSatisfy({ $0 == 0 }) && dilation.allSatisfy({ $0 == 1 }) && outputPadding.allSatisfy({ $0 == 0 })
    }

    /// Whether `weightGradientChannels` takes a stride-1 weight gradient: three taps along x at
    /// dilation 1, more than half a lane and at most two lanes of output channels per group.
    /// Measured: conv3d 32 → 32 at 64³ forward + backward 0.78× with the forward kernels of the
    /// same kind. Otherwise the direct runs take kernels three taps wide with at most 32 output
    /// channels per group: the GEMM form packs dY again for every tap, and with M = N ≤ 32 the
    /// packing costs more than the multiply-adds.
    static func takesChannelWeightGradient(coutG: Int, geometry geo: PaddedGeometry, allowed: ConvolutionKernels = .allowed) -> Bool {
        allowed.direct && wideRegisters && allowed.channelVectors && geo.kw == 3 && geo.dilation[2] == 1
            && coutG > Lane.scalarCount / 2 && coutG <= 2 * Lane.scalarCount
    }
}

extension Im2Col {
    /// The same convolution on the zero-padded grid (stride 1).
    var padded: PaddedGeometry { PaddedGeometry(d: d, h: h, w: w, kd: kd, kh: kh, kw: kw, padding: padding, dilation: dilation) }
}
