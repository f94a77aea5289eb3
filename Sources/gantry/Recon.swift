import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryRecon

extension Gantry {
    struct Recon: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reconstruct fastMRI-layout k-space: zero-filled, SENSE, compressed sensing (ℓ1-wavelet, TV), RIM/CIRIM.",
            discussion: """
            k-space is [slices, coils, readout, phase encode] (fastMRI's height × width). Fully sampled input is \
            undersampled retrospectively along the phase-encode axis with --accel/--center/--mask-kind; otherwise the \
            file's mask (float or boolean) is used as given. With an ismrmrd_header, readout oversampling is removed \
            first (coil images cropped to its reconSpace, as Gadgetron does; fastMRI's center_crop start) and NIfTI \
            voxels take its FOV/matrix; with Gantry's image geometry attributes the volume lands on the image's grid. \
            Coil maps: a quick RSS-normalised calibration estimate (default), ESPIRiT, or the file's. \
            Output .nii/.nii.gz (magnitude, voxel x = phase encode, y = readout, slice) or .h5 (a copy of the input plus \
            reconstruction_<method>, header and attributes kept). Prints NMSE/PSNR/SSIM against reconstruction_rss when \
            shapes match, and a warning when they do not.
            """
        )

        @Option(help: "Method (rim and cirim need --model).")
        var method: ReconMethod = .zeroFilled

        @Option(help: "Trained RIM/CIRIM checkpoint (.safetensors) for --method rim|cirim.")
        var model: String?

        @Flag(help: "rim/cirim: keep the measured k-space samples in the network's estimate, coils combined by RSS (hard data consistency).")
        var dataConsistency = false

        @Option(help: "Slices per network call (rim/cirim).")
        var batch: Int = 4

        @Option(name: .customLong("in"), help: "k-space: .h5 (fastMRI layout or ISMRMRD raw data) or BART .cfl/.hdr.")
        var input: String

        @Option(help: "Output .nii, .nii.gz, .h5 or BART .cfl (magnitude images, slices on BART's dimension 13).")
        var out: String

        @Option(help: "Retrospective acceleration (fully sampled input).")
        var accel: Double?

        @Option(help: "Fully sampled centre fraction.")
        var center: Double = 0.08

        @Option(help: "Retrospective mask pattern.")
        var maskKind: MaskKind = .random

        @Option(help: "Mask seed.")
        var seed: Int = 0

        @Option(help: "Regularisation λ (relative to the zero-filled maximum).")
        var lambda: Float?

        @Option(help: "Iterations.")
        var iterations: Int?

        @Option(help: "Coil maps: calibration (RSS-normalised low-resolution), espirit (as BART ecalib), or file (the file's sensitivity_map).")
        var maps: CoilMaps = .calibration

        @Flag(help: "Same as --maps file.")
        var mapsFromFile = false

        @Flag(help: "Print the report as JSON (method, shape, acceleration, metrics, times) instead of a summary line.")
        var json = false

        @Flag(help: "Write the fastMRI challenge's submission layout: a .h5 with `reconstruction` [slices, h, w] float32 (reconSpace size), the ismrmrd_header and the file's attributes.")
        var fastmriSubmission = false

        func validate() throws {
            guard [".nii", ".nii.gz", ".h5", ".cfl"].contains(where: { out.hasSuffix($0) }) else {
                throw ValidationError("--out must end in .nii, .nii.gz, .h5 or .cfl")
            }
            if fastmriSubmission && !out.hasSuffix(".h5") { throw ValidationError("--fastmri-submission writes an .h5 file") }
        }

        @OptionGroup var compute: ComputeOptions

        func run() throws {
            let started = Date()
            try compute.apply()
            let m = method
            if m.isLearned && model == nil { throw ValidationError("--method \(m.rawValue) needs --model CHECKPOINT") }
            guard batch >= 1 else { throw ValidationError("--batch must be positive") }
            let kind = maskKind
            if let it = iterations, it < 1 { throw ValidationError("--iterations must be positive") }
            let mapSource = mapsFromFile ? CoilMaps.file : maps
            let mask = accel.map { SamplingMask(kind: kind, acceleration: $0, centerFraction: center, seed: UInt64(max(0, seed))) }
            var options = ReconOptions(method: m, mask: mask, lambda: lambda, iterations: iterations, maps: mapSource)
            options.model = try model.map { try ReconModel.load($0) }
            options.batchSize = batch
            if dataConsistency && !m.isLearned { throw ValidationError("--data-consistency applies to --method rim|cirim") }
            options.dataConsistency = dataConsistency
            let job = ReconJob(input: input, options: options, outputs: [.init(path: out, fastMRISubmission: fastmriSubmission)])
            let (report, _) = try job.run { s, slices in Log.progress("  slice \(s + 1)/\(slices) done") }
            if let why = report.notScored { Log.warning(why) }
            // The whole command's time (reading, reconstructing, writing).
            let commandSeconds = Date().timeIntervalSince(started)
            if json {
                var object = try JSONSerialization.jsonObject(with: Data(FileIO.jsonBytes(encoding: report))) as? [String: Any] ?? [:]
                object["output"] = out
                object["command_seconds"] = commandSeconds
                try printJSON(object)
                return
            }
            var line = String(format: "%@: %d slice(s), R = %.2f, %.2f s", m.rawValue, report.slices, report.acceleration, commandSeconds)
            if let nmse = report.nmse, let psnr = report.psnr, let ssim = report.ssim {
                line += String(format: "; vs reconstruction_rss: NMSE %.4f, PSNR %.2f dB, SSIM %.4f", nmse, psnr, ssim)
            }
            print(line)
        }
    }
}
