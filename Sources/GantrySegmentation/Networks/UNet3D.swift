import GantryCore
import GantryNN

/// MONAI's `UNet` (Kerfoot et al.'s residual U-Net), with the same configuration and state-dict
/// names so MONAI checkpoints load by name: each level a strided ResidualUnit going down, a skip
/// connection (channel concatenation) and a transposed-conv ConvNormAct + ResidualUnit going up;
/// instance norm, PReLU. 2D or 3D by `dims`.
public final class UNet3D {
    /// Uses `numResUnits` and `dropout` besides the shape.
    public typealias Config = SegmentationNetworkConfig

    public let config: Config
    public let parameters: ParameterStore

    public init(_ config: Config, seed: UInt64 = 0) throws {
        guard config.channels.count >= 2, config.strides.count == config.channels.count - 1, config.numResUnits >= 1 else {
            throw GantryError.invalidArgument("UNet: need ≥ 2 channel levels, one stride fewer, and ≥ 1 residual unit (MONAI's num_res_units = 0 variant is not built)")
        }
        self.config = config
        parameters = ParameterStore(seed: seed)
        try materialiseParameters(dims: config.dims, strides: config.strides)
    }

    public func forward(_ x: Tensor, training: Bool = false) throws -> Tensor {
        try block(x, prefix: "model", inC: config.inChannels, outC: config.outChannels, channels: config.channels, strides: config.strides, isTop: true, training: training)
    }

    /// `_create_block` of MONAI: Sequential(down, SkipConnection(sub), up).
    func block(_ x: Tensor, prefix: String, inC: Int, outC: Int, channels: [Int], strides: [Int], isTop: Bool, training: Bool) throws -> Tensor {
        let c = channels[0], s = strides[0], dims = config.dims, dr = config.dropout, p = parameters
        let down = ResidualUnit(prefix: "\(prefix).0", inChannels: inC, outChannels: c, stride: s, subunits: config.numResUnits, lastConvOnly: false, dropout: dr, dims: dims)
        let d = try down(x, p, training: training)
        let sub: Tensor, upIn: Int
        if channels.count > 2 {
            sub = try block(d, prefix: "\(prefix).1.submodule", inC: c, outC: c, channels: Array(channels.dropFirst()), strides: Array(strides.dropFirst()), isTop: false, training: training)
            upIn = 2 * c
        } else {
            let bottom = ResidualUnit(prefix: "\(prefix).1.submodule", inChannels: c, outChannels: channels[1], stride: 1, subunits: config.numResUnits, lastConvOnly: false, dropout: dr, dims: dims)
            sub = try bottom(d, p, training: training)
            upIn = c + channels[1]
        }
        let cat = try Tensor.concatChannels([d, sub])
        let upConv = ConvNormAct(prefix: "\(prefix).2.0", inChannels: upIn, outChannels: outC, stride: s, transposed: true, convOnly: false, dropout: dr, dims: dims)
        let u = try upConv(cat, p, training: training)
        let upRes = ResidualUnit(prefix: "\(prefix).2.1", inChannels: outC, outChannels: outC, stride: 1, subunits: 1, lastConvOnly: isTop, dropout: dr, dims: dims)
        return try upRes(u, p, training: training)
    }
}
