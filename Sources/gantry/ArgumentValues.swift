import ArgumentParser
import GantryCore
import GantryMetrics
import GantryPipeline
import GantryRecon
import GantryRegistration

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

/// Where `gantry run` executes the plan.
enum ExecutorKind: String, CaseIterable, ExpressibleByArgument { case local, slurm }
