import GantryCore
import GantryNN

/// MONAI's `AttentionUnet` (Oktay et al., "Attention U-Net: Learning Where to Look for the
/// Pancreas", 2018) with its configuration and state-dict names, so MONAI checkpoints load by name.
/// A double-conv head, then at each level: strided double-conv down, the level below, a transposed
/// conv up, an attention gate that weighs the skip features by the upsampled signal, and a merge
/// conv (instance norm + PReLU, as MONAI's default `Convolution`) of [gated skip, upsampled];
/// a 1×1×1 conv to the classes. Batch norm throughout, so `training` switches batch/running stats.
public final class AttentionUNet3D {
    /// Uses `dropout` besides the shape.
    public typealias Config = SegmentationNetworkConfig

    public let config: Config
    public let parameters: ParameterStore

    public init(_ config: Config, seed: UInt64 = 0) throws {
        guard config.channels.count >= 2, config.strides.count == config.channels.count - 1, config.channels.allSatisfy({ $0 >= 2 }) else {
            throw GantryError.invalidArgument("AttentionUnet: need ≥ 2 channel levels (each ≥ 2 channels) and one stride fewer")
        }
        self.config = config
        parameters = ParameterStore(seed: seed)
        try materialiseParameters(dims: config.dims, strides: config.strides)
    }

    public func forward(_ x: Tensor, training: Bool = false) throws -> Tensor {
        let c = config, p = parameters
        let head = try DoubleConvBlock(prefix: "model.0", inChannels: c.inChannels, outChannels: c.channels[0], stride: 1, dropout: c.dropout, dims: c.dims)(x, p, training: training)
        let body = try level(head, prefix: "model.1", channels: c.channels, strides: c.strides, training: training)
        return try ConvNormAct(prefix: "model.2", inChannels: c.channels[0], outChannels: c.outChannels, stride: 1, transposed: false, convOnly: true,
                               dropout: 0, dims: c.dims, kernelSize: 1)(body, p, training: training)
    }

    /// MONAI's `AttentionLayer`: its submodule is the strided block down (then, above the bottom,
    /// the next level as `submodule.1`).
    func level(_ x: Tensor, prefix: String, channels: [Int], strides: [Int], training: Bool) throws -> Tensor {
        let c = channels[0], below = channels[1], s = strides[0], dims = config.dims, dr = config.dropout, p = parameters
        let downPrefix = channels.count > 2 ? "\(prefix).submodule.0" : "\(prefix).submodule"
        var lower = try DoubleConvBlock(prefix: downPrefix, inChannels: c, outChannels: below, stride: s, dropout: dr, dims: dims)(x, p, training: training)
        if channels.count > 2 {
            lower = try level(lower, prefix: "\(prefix).submodule.1", channels: Array(channels.dropFirst()), strides: Array(strides.dropFirst()), training: training)
        }
        let up = try ConvNormAct(prefix: "\(prefix).upconv.up", inChannels: below, outChannels: c, stride: s, transposed: true, convOnly: false,
                                 dropout: 0, dims: dims, norm: .batch, activation: .relu)(lower, p, training: training)
        let gated = try AttentionGate(prefix: "\(prefix).attention", gateChannels: c, skipChannels: c, intermediate: c / 2, dims: dims)(gate: up, skip: x, p, training: training)
        return try ConvNormAct(prefix: "\(prefix).merge", inChannels: 2 * c, outChannels: c, stride: 1, transposed: false, convOnly: false,
                               dropout: dr, dims: dims)(Tensor.concatChannels([gated, up]), p, training: training)
    }
}
