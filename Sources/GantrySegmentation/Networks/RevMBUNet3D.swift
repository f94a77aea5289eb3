import GantryCore
import GantryNN

/// The memory-efficient 3D U-Net of Pendse et al. (BraTS): every encoder and decoder stage is a
/// sequence of reversible couplings whose F and G are mobile inverted bottlenecks on half the
/// channels, so training keeps no activations inside a stage (they are rebuilt from the stage's
/// output in backward). Stem: conv 3³ + instance norm + PReLU to `channels[0]`; down: strided
/// conv 3³ (same block); up: transposed conv 3³, stride 2 (same block) to the level's channels, concatenated
/// with the skip and merged by a 1×1×1 conv block; head: 1×1×1 conv to the classes.
/// Pendse et al.'s exact widths and expansion are not public: widths, blocks per stage and the
/// expansion ratio (default 4) are configurable.
public final class RevMBUNet3D {
    /// Uses `blocks` and `expansion` besides the shape.
    public typealias Config = SegmentationNetworkConfig

    public let config: Config
    public let parameters: ParameterStore
    /// false: run the same couplings keeping every activation (for checks and comparisons).
    public var reversible = true

    public init(_ config: Config, seed: UInt64 = 0) throws {
        guard config.channels.count >= 2, config.strides.count == config.channels.count - 1,
              config.channels.allSatisfy({ $0 >= 2 && $0 % 2 == 0 }), config.blocks >= 1, config.expansion >= 1 else {
            throw GantryError.invalidArgument("RevMBUNet3D: need ≥ 2 levels of even channel counts, one stride fewer, ≥ 1 block and expansion ≥ 1")
        }
        self.config = config
        parameters = ParameterStore(seed: seed)
        try materialiseParameters(dims: config.dims, strides: config.strides)
    }

    func block(_ prefix: String, _ cin: Int, _ cout: Int, stride: Int = 1, kernel: Int = 3, transposed: Bool = false) -> ConvNormAct {
        ConvNormAct(prefix: prefix, inChannels: cin, outChannels: cout, stride: stride, transposed: transposed, convOnly: false,
                    dropout: 0, dims: config.dims, kernelSize: kernel)
    }

    func stage(_ prefix: String, _ c: Int) -> ReversibleMBStage {
        ReversibleMBStage(prefix: prefix, channels: c, depth: config.blocks, expansion: config.expansion, dims: config.dims)
    }

    public func forward(_ x: Tensor, training: Bool = false) throws -> Tensor {
        let c = config.channels, p = parameters, levels = c.count
        var h = try block("stem", config.inChannels, c[0])(x, p, training: training)
        var skips: [Tensor] = []
        for i in 0..<levels {
            if i > 0 { h = try block("down.\(i)", c[i - 1], c[i], stride: config.strides[i - 1])(h, p, training: training) }
            h = try stage("encoder.\(i)", c[i])(h, p, reversible: reversible)
            skips.append(h)
        }
        for i in stride(from: levels - 2, through: 0, by: -1) {
            let s = config.strides[i]
            let up = try block("up.\(i)", c[i + 1], c[i], stride: s, transposed: true)(h, p, training: training)
            h = try block("merge.\(i)", 2 * c[i], c[i], kernel: 1)(Tensor.concatChannels([skips[i], up]), p, training: training)
            h = try stage("decoder.\(i)", c[i])(h, p, reversible: reversible)
        }
        return try ConvNormAct(prefix: "head", inChannels: c[0], outChannels: config.outChannels, stride: 1, transposed: false, convOnly: true,
                               dropout: 0, dims: config.dims, kernelSize: 1)(h, p, training: training)
    }
}
