import GantryCore
import GantryNN

/// What the segmenter and trainer need from a network: a forward pass, its parameters by state-dict
/// name, and enough of its configuration to rebuild it from a checkpoint's metadata.
public protocol SegmentationNetwork: AnyObject {
    /// Name stored as `gantry_model` in checkpoints.
    static var architecture: String { get }
    var parameters: ParameterStore { get }
    var config: SegmentationNetworkConfig { get }
    /// JSON-serialisable configuration (MONAI's constructor argument names).
    var checkpointConfig: [String: Any] { get }
    func forward(_ x: Tensor, training: Bool) throws -> Tensor
}

/// The configuration every segmentation network takes: the U-shape (dimensions, channels in and
/// out, channels per level, the strides between levels) and the settings some of them read — the
/// residual U-Net its residual units, the reversible one its blocks per stage and expansion; each
/// network documents which.
public struct SegmentationNetworkConfig: Sendable, Equatable {
    public var dims = 3
    public var inChannels: Int
    public var outChannels: Int
    public var channels: [Int]
    public var strides: [Int]
    /// Residual units per level (`UNet3D`, MONAI's `num_res_units`).
    public var numResUnits = 2
    public var dropout: Float = 0
    /// Reversible couplings per stage and the bottlenecks' expansion (`RevMBUNet3D`).
    public var blocks = 2
    public var expansion = 4

    public init(dims: Int = 3, inChannels: Int, outChannels: Int, channels: [Int], strides: [Int], numResUnits: Int = 2, dropout: Float = 0,
                blocks: Int = 2, expansion: Int = 4) {
        self.dims = dims; self.inChannels = inChannels; self.outChannels = outChannels; self.channels = channels; self.strides = strides
        self.numResUnits = numResUnits; self.dropout = dropout; self.blocks = blocks; self.expansion = expansion
    }
}

extension SegmentationNetwork {
    public var inChannels: Int { config.inChannels }
    public var outChannels: Int { config.outChannels }

    /// The entries every architecture's checkpoint holds (MONAI's argument names).
    var shapeEntries: [String: Any] {
        ["channels": config.channels, "strides": config.strides, "in_channels": config.inChannels, "out_channels": config.outChannels]
    }

    /// Creates every parameter (and buffer) once, by a dry run on the smallest input the strides
    /// allow, so a checkpoint can be loaded into — or an optimiser built over — a fresh network.
    func materialiseParameters(dims: Int, strides: [Int]) throws {
        let minSize = strides.reduce(1, *) * 2
        _ = try Tensor.noGrad { try forward(Tensor(zeros: [1, inChannels] + Array(repeating: minSize, count: dims)), training: false) }
        parameters.seal()
    }
}

/// The architectures `gantry train segment --architecture` offers and checkpoints name.
public enum SegmentationArchitecture: String, CaseIterable, Sendable {
    case unet = "UNet3D"
    case attentionUNet = "AttentionUNet3D"
    case revMBUNet = "RevMBUNet3D"

    /// The command-line name (`gantry train segment --architecture`).
    public var optionName: String {
        switch self {
        case .unet: return "unet"
        case .attentionUNet: return "attention-unet"
        case .revMBUNet: return "rev-mb-unet"
        }
    }

    /// Builds the network (fresh weights from `seed`) from a checkpoint-style configuration.
    /// `availableParameters`, when the configuration comes with weights (a checkpoint), bounds the
    /// network it may describe: every architecture has at least one weight per pair of channels of
    /// neighbouring levels, so a configuration that needs more than the file holds is refused
    /// before anything is allocated.
    public func make(config cfg: [String: Any], seed: UInt64 = 0, availableParameters: Int? = nil) throws -> any SegmentationNetwork {
        guard let channels = cfg["channels"] as? [Int], let strides = cfg["strides"] as? [Int],
              let inC = cfg["in_channels"] as? Int, let outC = cfg["out_channels"] as? Int else {
            throw GantryError.invalidArgument("\(rawValue) configuration needs channels, strides, in_channels and out_channels")
        }
        let limit = 1 << 16
        guard (2...8).contains(channels.count), channels.allSatisfy({ (1...limit).contains($0) }), (1...64).contains(inC), (1...64).contains(outC),
              strides.count == channels.count - 1, strides.allSatisfy({ (1...4).contains($0) }) else {
            throw GantryError.invalidArgument("\(rawValue) configuration out of range: 2…8 levels of 1…\(limit) channels, strides 1…4 (one fewer than levels), 1…64 input and output channels")
        }
        let levels = [inC] + channels + [outC]
        let minimum = zip(levels, levels.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
        if let available = availableParameters, minimum > available {
            throw GantryError.invalidArgument("\(rawValue) configuration (channels \(channels)) needs at least \(minimum) weights; the checkpoint holds \(available)")
        }
        switch self {
        case .unet:
            let units = cfg["num_res_units"] as? Int ?? 2
            guard (0...8).contains(units) else { throw GantryError.invalidArgument("\(rawValue) configuration: num_res_units must be 0…8") }
            return try UNet3D(.init(inChannels: inC, outChannels: outC, channels: channels, strides: strides, numResUnits: units), seed: seed)
        case .attentionUNet:
            return try AttentionUNet3D(.init(inChannels: inC, outChannels: outC, channels: channels, strides: strides), seed: seed)
        case .revMBUNet:
            let blocks = cfg["blocks"] as? Int ?? 2, expansion = cfg["expansion"] as? Int ?? 4
            guard (1...16).contains(blocks), (1...16).contains(expansion) else {
                throw GantryError.invalidArgument("\(rawValue) configuration: blocks and expansion must be 1…16")
            }
            return try RevMBUNet3D(.init(inChannels: inC, outChannels: outC, channels: channels, strides: strides, blocks: blocks, expansion: expansion), seed: seed)
        }
    }
}

extension UNet3D: SegmentationNetwork {
    public static var architecture: String { SegmentationArchitecture.unet.rawValue }
    public var checkpointConfig: [String: Any] { shapeEntries.merging(["num_res_units": config.numResUnits]) { a, _ in a } }
}

extension AttentionUNet3D: SegmentationNetwork {
    public static var architecture: String { SegmentationArchitecture.attentionUNet.rawValue }
    public var checkpointConfig: [String: Any] { shapeEntries }
}

extension RevMBUNet3D: SegmentationNetwork {
    public static var architecture: String { SegmentationArchitecture.revMBUNet.rawValue }
    public var checkpointConfig: [String: Any] { shapeEntries.merging(["blocks": config.blocks, "expansion": config.expansion]) { a, _ in a } }
}
