import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryRecon
import GantrySegmentation

extension Gantry {
    struct Segment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segment co-registered contrasts with a trained model (sliding window, Gaussian weighting, argmax).",
            discussion: """
            The mask carries the first input's affine and header. Give the inputs in the model's contrast \
            order (see the checkpoint's metadata) with --in … --out, or a whole folder of cases laid out as \
            nnU-Net's (CASE_0000.nii.gz, CASE_0001.nii.gz, … one file per channel) with --in-dir and \
            --out-dir, which writes CASE.nii.gz per case.
            """
        )

        @Option(help: "Checkpoint (.safetensors with Gantry model metadata).") var model: String
        @Option(name: .customLong("in"), help: "Input image (repeat, in the model's contrast order).") var inputs: [String] = []
        @Option(help: "Output label map (.nii.gz).") var out: String?
        @Option(help: "A folder of cases named as nnU-Net names them (CASE_XXXX.nii.gz, XXXX the channel index).") var inDir: String?
        @Option(help: "Output folder for --in-dir: one CASE.nii.gz per case.") var outDir: String?
        @Option(help: "Labels of the mask: brats2023 (enhancing tumour = 3) or brats2021 (= 4).") var labelConvention: BraTSConvention = .brats2023
        @Option(help: "Window overlap (0…0.9).") var overlap: Double = 0.5
        @Option(help: "Voxels the network runs on: training (inputs resampled to the checkpoint's spacing_mm and the probabilities brought back, as nnU-Net does) or input (the input's own voxels, as MONAI's sliding_window_inference on the loaded images).") var grid: SegmentationGrid = .training
        @Option(help: "Also write the class probabilities (4D float32 .nii.gz, one volume per class).") var probabilities: String?
        @Flag(help: "Keep only each label's largest connected component (26-connectivity, as MONAI's KeepLargestConnectedComponent).") var keepLargest = false
        @Option(help: "Remove lesions smaller than this many mm³ (connected components of the mask; 0 keeps all). Default: the checkpoint's min_component_mm3.") var minComponentMm3: Double?
        @OptionGroup var compute: ComputeOptions

        func validate() throws {
            guard (0...0.9).contains(overlap) else { throw ValidationError("--overlap must be 0…0.9") }
            switch (inputs.isEmpty, out, inDir, outDir) {
            case (false, .some, nil, nil), (true, nil, .some, .some): break
            default: throw ValidationError("give --in … --out, or --in-dir and --out-dir")
            }
            if inDir != nil && probabilities != nil { throw ValidationError("--probabilities is for one case (--in … --out)") }
        }

        func run() throws {
            try compute.apply()
            var m = try SegmentationModel.load(model)
            if grid == .input { m.spacing = nil }
            if let v = minComponentMm3 {
                guard v.isFinite, v >= 0 else { throw ValidationError("--min-component-mm3 must be ≥ 0") }
                m.minimumComponentMM3 = v
            }
            if let inDir, let outDir {
                try segmentFolder(m, inDir: inDir, outDir: outDir)
                return
            }
            guard let out else { return }
            let t0 = Date()
            try segment(m, inputs: inputs, out: out, probabilities: probabilities)
            print(String(format: "segmented in %.1f s → %@", Date().timeIntervalSince(t0), out))
        }

        /// One case: the mask (and the probabilities) appear together or not at all.
        func segment(_ m: SegmentationModel, inputs: [String], out: String, probabilities: String?) throws {
            let (images, warnings) = try SegmentationModel.readInputs(inputs)
            for w in warnings { Log.warning(w) }
            let prepared = try m.prepare(images)
            for w in m.inputWarnings(prepared) { Log.warning(w) }
            var reported = -1
            let prob = try m.probabilities(prepared, overlap: overlap) { done, total in
                // a line per quarter of the windows (Log.detail: every batch)
                let quarter = 4 * done / max(total, 1)
                if quarter > reported { reported = quarter; Log.progress("  sliding window: \(done)/\(total) windows") } else { Log.detail("  sliding window: \(done)/\(total) windows") }
            }
            var mask = try m.labelMap(from: prob)
            if keepLargest { mask = try mask.keepingLargestComponent() }
            mask = try labelConvention.fromGantryLabels(mask)
            try FileIO.withAtomicPaths([out] + (probabilities.map { [$0] } ?? [])) { tmp in
                try NIfTI.write(mask, to: tmp[0], options: .init(datatype: .uint8))
                if tmp.count > 1 { try NIfTI.write(prob, to: tmp[1], options: .init(datatype: .float32)) }
            }
        }

        /// Every case of an nnU-Net-style folder, checked whole before the first is segmented.
        func segmentFolder(_ m: SegmentationModel, inDir: String, outDir: String) throws {
            let cases = try CaseFolder.nnUNetCases(inDir)
            let channels = m.contrasts.isEmpty ? nil : m.contrasts.count
            if let c = channels, let bad = cases.first(where: { $0.channels.count != c }) {
                throw GantryError.invalidFile(path: inDir, problem: "case \(bad.name) has \(bad.channels.count) channel(s); the model takes \(c) (\(m.contrasts.joined(separator: ", ")))")
            }
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            let t0 = Date()
            for (i, c) in cases.enumerated() {
                try segment(m, inputs: c.channels, out: "\(outDir)/\(c.name).nii.gz", probabilities: nil)
                let elapsed = Date().timeIntervalSince(t0)
                Log.progress(String(format: "[%d/%d] %@ — %.1f s, ETA %.0f s", i + 1, cases.count, c.name, elapsed, elapsed / Double(i + 1) * Double(cases.count - i - 1)))
            }
            print(String(format: "segmented %d case(s) in %.1f s → %@", cases.count, Date().timeIntervalSince(t0), outDir))
        }
    }

    /// Which voxels `gantry segment` runs the network on.
    enum SegmentationGrid: String, ExpressibleByArgument, CaseIterable {
        case training, input
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
        @Option(help: "Network: unet (MONAI UNet, residual units), attention-unet (MONAI AttentionUnet) or rev-mb-unet (reversible mobile inverted bottlenecks).") var architecture: SegmentationArchitecture = .unet
        @Option(help: "Learning rate (Adam, poly decay).") var lr: Double = 0.01
        @Option(help: "Validation subjects (the last ones).") var val: Int = 1
        @Option(help: "Seed.") var seed: Int = 1
        @Option(help: "Probability (0…1) that a training patch shows one contrast in every channel, labels unchanged (missing-modality augmentation).") var singleContrast: Double = 0
        @Option(help: "Probability (0…1) that a training patch comes from the skull-stripped subject (the study's label-brain_mask).") var stripped: Double = 0
        @Option(help: "Probability (0…1) that a whole-head training patch shows a simulated accelerated acquisition: the zero-filled reconstruction at an equispaced 4×, Gaussian 1D 6× or random 8× mask, blended with the clean image.") var degraded: Double = 0
        @Option(help: "Intensity normalisation: foreground (head or brain, whatever the background) or nonzero (nnU-Net's rule; the first shipped models).") var normalisation: IntensityNormalisation = .foreground
        @Flag(help: "Continue from the checkpoint's last epoch.") var resume = false
        @Flag(help: "Do not train: measure the training subjects' intensity range (as training does) and record it in the existing checkpoint --out, tensors untouched.") var recordIntensityRange = false
        @OptionGroup var compute: ComputeOptions

        func run() throws {
            try compute.apply()
            let ch = channels.split(separator: ",").compactMap { Int($0) }
            guard ch.count >= 2, ch.allSatisfy({ $0 > 0 }) else { throw ValidationError("--channels needs ≥ 2 positive numbers") }
            guard epochs > 0, steps > 0, patch >= 8, seed >= 0 else { throw ValidationError("epochs, steps > 0; patch ≥ 8; seed ≥ 0") }
            var o = SegmentationTrainer.Options()
            o.architecture = architecture
            o.epochs = epochs; o.stepsPerEpoch = steps; o.patch = patch; o.channels = ch; o.learningRate = lr
            o.validationSubjects = val; o.seed = UInt64(seed)
            guard (0...1).contains(singleContrast) else { throw ValidationError("--single-contrast must be 0…1") }
            o.singleContrastProbability = singleContrast
            guard (0...1).contains(stripped) else { throw ValidationError("--stripped must be 0…1") }
            o.strippedProbability = stripped
            guard (0...1).contains(degraded) else { throw ValidationError("--degraded must be 0…1") }
            o.degradedProbability = degraded
            o.degradedViews = { image in try SimulatedUndersampling.trainingMasks.map { try SimulatedUndersampling.zeroFilled(image, mask: $0) } }
            o.normalisation = normalisation
            if recordIntensityRange {
                let range = try SegmentationTrainer(options: o).recordIntensityRange(study: study, checkpoint: out)
                print("intensity range of \(range.subjects) training subjects recorded in \(out)")
                return
            }
            let history = try SegmentationTrainer(options: o).train(study: study, output: out, resume: resume) {
                Log.progress($0)
            }
            print("validation Dice (whole tumour) per epoch: " + history.map { String(format: "%.3f", $0) }.joined(separator: " "))
            print(out)
        }
    }
}
