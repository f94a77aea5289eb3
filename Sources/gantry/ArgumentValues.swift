import ArgumentParser
import GantryCore
import GantryMetrics
import GantryPipeline
import GantryNN
import GantryRecon
import GantryRegistration
import GantrySegmentation

// The library's choices as typed command-line values: the parser rejects a typo with the list of
// valid values (exit 64) and `--help` shows them.
extension ReconMethod: ExpressibleByArgument {}
extension MaskKind: ExpressibleByArgument {}
extension CoilMaps: ExpressibleByArgument {}
extension RegistrationType: ExpressibleByArgument {}
extension Similarity: ExpressibleByArgument {}
extension DeformableSimilarity: ExpressibleByArgument {}
extension Interpolation: ExpressibleByArgument {}
extension BraTSConvention: ExpressibleByArgument {}
extension RunScope: ExpressibleByArgument {}
extension RIMLoss.Normalisation: ExpressibleByArgument {}
extension IntensityNormalisation: ExpressibleByArgument {}

/// Recurrent cells by name, any case (gru, mgu, indrnn), as atommic's `recurrent_layer`.
extension RecurrentCellKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map { $0.rawValue.lowercased() } }
    public static var allValueDescriptions: [String: String] { [:] }
}

/// Architectures by their command-line names (unet, attention-unet, rev-mb-unet) or checkpoint names.
extension SegmentationArchitecture: ExpressibleByArgument {
    public init?(argument: String) {
        guard let a = Self.allCases.first(where: { $0.optionName == argument || $0.rawValue == argument }) else { return nil }
        self = a
    }
    public static var allValueStrings: [String] { allCases.map(\.optionName) }
    public static var allValueDescriptions: [String: String] { [:] }
}

/// Where `gantry run` executes the plan.
enum ExecutorKind: String, CaseIterable, ExpressibleByArgument { case local, slurm }
