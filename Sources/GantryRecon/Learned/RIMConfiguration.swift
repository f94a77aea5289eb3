import GantryCore
import GantryNN

/// A RIM/CIRIM architecture, with atommic's configuration names and defaults (IndRNN, 128 channels,
/// 8 time steps, 5 cascades: 980,480 parameters; atommic's fastMRI-brain configs use 64 channels),
/// so an atommic config dictionary maps onto it key by key. Layers are conv → cell, conv → cell,
/// final conv (2 channels, no bias, no activation); every conv but the last is followed by ReLU.
public struct RIMConfiguration: Codable, Equatable, Sendable {
    public var recurrentLayer: RecurrentCellKind = .indRNN
    public var convFilters = [128, 128, 2]
    public var convKernels = [5, 3, 3]
    public var convDilations = [1, 2, 1]
    public var convBias = [true, true, false]
    public var recurrentFilters = [128, 128, 0]
    public var recurrentKernels = [1, 1, 0]
    public var recurrentDilations = [1, 1, 0]
    public var recurrentBias = [true, true, false]
    /// Recurrent steps per cascade. (atommic's CIRIM rounds this up to a multiple of 8; Gantry
    /// runs exactly what is stored.)
    public var timeSteps = 8
    /// 1 = a RIM; more = CIRIM. The hidden state is carried from cascade to cascade (atommic 1.0.1).
    public var numCascades = 5
    /// true (atommic's default and every shipped config): data consistency only through the
    /// log-likelihood gradient fed to the cells. false: also a soft data-consistency step with a
    /// learnable weight at the end of each cascade.
    public var noDC = true

    enum CodingKeys: String, CodingKey {
        case recurrentLayer = "recurrent_layer", convFilters = "conv_filters", convKernels = "conv_kernels"
        case convDilations = "conv_dilations", convBias = "conv_bias", recurrentFilters = "recurrent_filters"
        case recurrentKernels = "recurrent_kernels", recurrentDilations = "recurrent_dilations", recurrentBias = "recurrent_bias"
        case timeSteps = "time_steps", numCascades = "num_cascades", noDC = "no_dc"
    }

    public init() {}

    /// The same with `hidden` channels in every conv/recurrent layer but the final one.
    public static func make(cell: RecurrentCellKind, hidden: Int = 128, timeSteps: Int = 8, cascades: Int = 5, noDC: Bool = true) -> RIMConfiguration {
        var c = RIMConfiguration()
        c.recurrentLayer = cell
        c.convFilters = [hidden, hidden, 2]; c.recurrentFilters = [hidden, hidden, 0]
        c.timeSteps = timeSteps; c.numCascades = cascades; c.noDC = noDC
        return c
    }

    public func validate() throws {
        let n = convFilters.count
        let lists = [convKernels, convDilations, recurrentFilters, recurrentKernels, recurrentDilations]
        guard n >= 2, lists.allSatisfy({ $0.count == n }), convBias.count == n, recurrentBias.count == n else {
            throw GantryError.invalidArgument("RIM configuration: every layer list needs the same length (≥ 2)")
        }
        guard convFilters.last == 2, recurrentFilters.last == 0 else {
            throw GantryError.invalidArgument("RIM configuration: the last conv must have 2 filters (real, imaginary) and no recurrent layer")
        }
        guard convFilters.allSatisfy({ $0 > 0 }), recurrentFilters.dropLast().allSatisfy({ $0 > 0 }),
              convKernels.allSatisfy({ $0 > 0 && $0 % 2 == 1 }), convDilations.allSatisfy({ $0 > 0 }),
              recurrentKernels.dropLast().allSatisfy({ $0 > 0 && $0 % 2 == 1 }), recurrentDilations.dropLast().allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("RIM configuration: filters must be positive, kernels positive and odd, dilations positive")
        }
        // Bounds that keep a damaged checkpoint from asking for gigabytes (atommic's largest
        // published configurations use 128 filters, kernels up to 5, dilations up to 2).
        guard convFilters.allSatisfy({ $0 <= 4096 }), recurrentFilters.allSatisfy({ $0 <= 4096 }),
              (convKernels + recurrentKernels).allSatisfy({ $0 <= 15 }), (convDilations + recurrentDilations).allSatisfy({ $0 <= 16 }) else {
            throw GantryError.invalidArgument("RIM configuration: filters must be ≤ 4096, kernels ≤ 15, dilations ≤ 16")
        }
        guard (1...64).contains(timeSteps), (1...64).contains(numCascades) else {
            throw GantryError.invalidArgument("RIM configuration: time_steps and num_cascades must be 1…64")
        }
    }
}
