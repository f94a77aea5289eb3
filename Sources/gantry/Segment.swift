import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantrySegmentation

extension Gantry {
    struct Segment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segment co-registered contrasts with a trained model (sliding window, Gaussian weighting, argmax).",
            discussion: "The mask carries the first input's affine and header. Give the inputs in the model's contrast order (see the checkpoint's metadata)."
        )

        @Option(help: "Checkpoint (.safetensors with Gantry model metadata).") var model: String
        @Option(name: .customLong("in"), help: "Input image (repeat, in the model's contrast order).") var inputs: [String] = []
        @Option(help: "Output label map (.nii.gz).") var out: String
        @Option(help: "Window overlap (0…0.9).") var overlap: Double = 0.5
        @Option(help: "Also write the class probabilities (4D float32 .nii.gz, one volume per class).") var probabilities: String?
        @Flag(help: "Keep only each label's largest connected component (26-connectivity, as MONAI's KeepLargestConnectedComponent).") var keepLargest = false
        @OptionGroup var compute: ComputeOptions

        func run() throws {
            try compute.apply()
            guard (0...0.9).contains(overlap) else { throw ValidationError("--overlap must be 0…0.9") }
            let m = try SegmentationModel.load(model)
            let (images, warnings) = try SegmentationModel.readInputs(inputs)
            for w in warnings { Log.warning(w) }
            let t0 = Date()
            let prob = try m.probabilities(images, overlap: overlap)
            var mask = try m.labelMap(from: prob)
            if keepLargest { mask = try mask.keepingLargestComponent() }
            // The mask and the probabilities appear together or not at all.
            try FileIO.withAtomicPaths([out] + (probabilities.map { [$0] } ?? [])) { tmp in
                try NIfTI.write(mask, to: tmp[0], options: .init(datatype: .uint8))
                if tmp.count > 1 { try NIfTI.write(prob, to: tmp[1], options: .init(datatype: .float32)) }
            }
            print(String(format: "segmented in %.1f s → %@", Date().timeIntervalSince(t0), out))
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train segmentation or reconstruction models.", subcommands: [TrainSegment.self, TrainRecon.self])
    }

    struct TrainSegment: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "segment",
            abstract: "Train a 3D U-Net, attention U-Net (MONAI-compatible) or reversible MB U-Net for brain-tumour segmentation on a phantom study.",
            discussion: "Validation (whole-tumour Dice) on the last subject(s) after every epoch; the best epoch is written to --out, the latest to <out>.last.safetensors (--resume continues from it)."
        )
        @Option(help: "Study folder (sub-*/anat/sub-*_{contrast}.nii.gz and _label-tumour_dseg).") var study: String
        @Option(help: "Output checkpoint (.safetensors).") var out: String
        @Option(help: "Epochs.") var epochs: Int = 10
        @Option(help: "Steps per epoch.") var steps: Int = 40
        @Option(help: "Patch size (voxels per axis).") var patch: Int = 48
        @Option(help: "Channels per level, comma-separated.") var channels: String = "8,16,32,64"
        @Option(help: "Network: unet (MONAI UNet, residual units), attention-unet (MONAI AttentionUnet) or rev-mb-unet (reversible mobile inverted bottlenecks).") var architecture: String = "unet"
        @Option(help: "Learning rate (Adam, poly decay).") var lr: Double = 0.01
        @Option(help: "Validation subjects (the last ones).") var val: Int = 1
        @Option(help: "Seed.") var seed: Int = 1
        @Flag(help: "Continue from the checkpoint's last epoch.") var resume = false
        @OptionGroup var compute: ComputeOptions

        func run() throws {
            try compute.apply()
            let ch = channels.split(separator: ",").compactMap { Int($0) }
            guard ch.count >= 2, ch.allSatisfy({ $0 > 0 }) else { throw ValidationError("--channels needs ≥ 2 positive numbers") }
            guard epochs > 0, steps > 0, patch >= 8, seed >= 0 else { throw ValidationError("epochs, steps > 0; patch ≥ 8; seed ≥ 0") }
            var o = SegmentationTrainer.Options()
            let names = SegmentationArchitecture.allCases.map(\.optionName)
            guard let arch = SegmentationArchitecture.allCases.first(where: { $0.optionName == architecture }) else {
                throw ValidationError("--architecture must be one of \(names.joined(separator: ", "))")
            }
            o.architecture = arch
            o.epochs = epochs; o.stepsPerEpoch = steps; o.patch = patch; o.channels = ch; o.learningRate = lr
            o.validationSubjects = val; o.seed = UInt64(seed)
            let history = try SegmentationTrainer(options: o).train(study: study, output: out, resume: resume) {
                Log.progress($0)
            }
            print("validation Dice (whole tumour) per epoch: " + history.map { String(format: "%.3f", $0) }.joined(separator: " "))
            print(out)
        }
    }
}
