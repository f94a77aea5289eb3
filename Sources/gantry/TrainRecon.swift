import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryNN
import GantryRecon

extension Gantry {
    struct TrainRecon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recon",
            abstract: "Train a RIM or CIRIM (atommic-compatible) on fully sampled multi-coil k-space.",
            discussion: """
            Inputs are fastMRI-layout .h5 files (e.g. from `gantry phantom kspace --spread`); each step undersamples a random \
            slice with a fresh random mask (--mask-kinds, --accelerations with matching --center-fractions). Loss: atommic's \
            0.1·L1 + 0.9·SSIM over every time step and cascade; Adam with poly decay. After each epoch: validation PSNR/SSIM, \
            the best checkpoint to --out and the latest to <out>.last.safetensors (--resume continues from it).
            """
        )
        @Option(parsing: .upToNextOption, help: "Training k-space files (.h5, fully sampled).") var kspace: [String]
        @Option(parsing: .upToNextOption, help: "Validation k-space files.") var validation: [String]
        @Option(help: "Output checkpoint (.safetensors).") var out: String
        @Option(help: "Recurrent cell.") var cell: RecurrentCellKind = .indRNN
        @Option(help: "Channels of the conv and recurrent layers.") var hidden: Int = 32
        @Option(help: "Time steps per cascade.") var timeSteps: Int = 8
        @Option(help: "Cascades (1 = RIM).") var cascades: Int = 3
        @Flag(help: "Add a soft data-consistency step (learnable weight) after each cascade.") var explicitDc = false
        @Option(help: "Epochs.") var epochs: Int = 10
        @Option(help: "Steps per epoch.") var steps: Int = 50
        @Option(help: "Learning rate (Adam, poly decay).") var lr: Double = 1e-3
        @Option(help: "Accelerations, comma-separated.") var accelerations: String = "4,8"
        @Option(help: "Centre fractions, one per acceleration.") var centerFractions: String = "0.08,0.04"
        @Option(help: "Mask kinds drawn from, comma-separated (\(MaskKind.allCases.map(\.rawValue).joined(separator: ", "))).") var maskKinds: String = "random,gaussian1d"
        @Option(help: "Coil maps: file (the files' sensitivity_map), calibration or espirit.") var maps: CoilMaps = .file
        @Option(help: "Loss normalisation: target-max (keeps the intensity scale; default) or own-max (atommic's: each image by its own maximum).") var lossNormalisation: RIMLoss.Normalisation = .targetMax
        @Option(help: "Seed.") var seed: Int = 1
        @Option(help: "Start from this checkpoint's weights (fine-tuning; --cell, --hidden, --time-steps and --cascades must match it).") var initialWeights: String?
        @Flag(help: "Continue from <out>.last.safetensors.") var resume = false
        @OptionGroup var compute: ComputeOptions

        func run() throws {
            try compute.apply()
            guard hidden > 0, timeSteps > 0, cascades > 0, epochs > 0, steps > 0, lr > 0, seed >= 0 else {
                throw ValidationError("--hidden, --time-steps, --cascades, --epochs, --steps and --lr must be positive; --seed ≥ 0")
            }
            let acc = accelerations.split(separator: ",").compactMap { Double($0) }, cf = centerFractions.split(separator: ",").compactMap { Double($0) }
            guard !acc.isEmpty, acc.count == cf.count, acc.allSatisfy({ $0 >= 1 }), cf.allSatisfy({ $0 > 0 && $0 < 1 }) else {
                throw ValidationError("--accelerations (≥ 1) and --center-fractions (0…1) need the same number of values")
            }
            let kinds = try maskKinds.split(separator: ",").map { k -> MaskKind in
                guard let m = MaskKind(rawValue: String(k)) else { throw ValidationError("unknown mask kind '\(k)'") }
                return m
            }
            var o = ReconTrainer.Options()
            o.lossNormalisation = lossNormalisation
            o.cell = cell; o.hidden = hidden; o.timeSteps = timeSteps; o.cascades = cascades; o.noDC = !explicitDc
            o.epochs = epochs; o.stepsPerEpoch = steps; o.learningRate = lr; o.accelerations = acc; o.centerFractions = cf
            o.maskKinds = kinds; o.seed = UInt64(seed); o.initialWeights = initialWeights
            let train = try kspace.flatMap { try ReconSample.slices(of: KSpaceFile.read($0), maps: maps) }
            let val = try validation.flatMap { try ReconSample.slices(of: KSpaceFile.read($0), maps: maps) }
            FileHandle.standardError.write("\(train.count) training and \(val.count) validation slices; \(cell.rawValue), \(hidden) channels, \(cascades) × \(timeSteps) steps\n".data(using: .utf8)!)
            let history = try ReconTrainer(options: o).train(train, validation: val, output: out, resume: resume) {
                Log.progress($0)
            }
            print("validation SSIM per epoch: " + history.map { String(format: "%.4f", $0.ssim) }.joined(separator: " "))
            print(out)
        }
    }
}
