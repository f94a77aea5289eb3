import ArgumentParser
import Foundation
import GantryCore
import GantryRegistration

extension Gantry {
    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a moving image to a fixed one: rigid, affine, or affine + diffeomorphic deformable (syn).",
            discussion: """
            Writes DIR/warped.nii.gz, warped_labels.nii.gz (with --moving-labels), affine.txt (ITK text, LPS), \
            field.nii.gz (syn: displacement in mm), registration.json (Dice before/after with --fixed-labels, \
            Jacobian, inverse consistency). Images on different grids are fine: everything is in world space.
            """
        )

        @Option(help: "Fixed image.") var fixed: String
        @Option(help: "Moving image.") var moving: String
        @Option(help: "Label map on the moving grid, warped with the image (repeat for more: warped_labels_2.nii.gz, …).") var movingLabels: [String] = []
        @Option(help: "Label map on the fixed grid, for Dice before/after.") var fixedLabels: String?
        @Option(help: "Transform: rigid, affine, or syn (affine + diffeomorphic).") var type: RegistrationType = .affine
        @Option(help: "Similarity for the linear part: ncc, lncc (local, bias-robust), mi (different contrasts) or mse.") var metric: Similarity = .ncc
        @Option(help: "Similarity for the deformable part (syn): lncc (local cross-correlation, as ANTs SyN's CC: robust to intensity differences, scalp and bias) or mse (demons forces: same scanner and subject).") var deformableMetric: DeformableSimilarity = .standard
        @Option(help: "Interpolation of the warped image: linear or bspline (cubic, sharper; labels are always per-label linear + argmax).") var interpolation: Interpolation = .linear
        @Option(help: "Fixed mask (e.g. a brain mask): only voxels inside it are compared, as ANTs' -x.") var fixedMask: String?
        @Option(help: "Moving mask: samples landing outside it are left out of the comparison.") var movingMask: String?
        @Option(help: "Output folder.") var out: String
        @Flag(help: "Print registration.json's report (plus the command's time) instead of a summary line.") var json = false
        @OptionGroup var compute: ComputeOptions

        func run() throws {
            let started = Date()
            try compute.apply()
            let (t, m, interp) = (type, metric, interpolation)
            guard interp != .nearest else { throw ValidationError("--interpolation must be linear or bspline (nearest is for label maps, which are warped per label)") }
            let report = try RegistrationJob.run(fixed: fixed, moving: moving, movingLabels: movingLabels.first, fixedLabels: fixedLabels,
                                                 type: t, metric: m, deformableMetric: deformableMetric, out: out, extraLabels: Array(movingLabels.dropFirst()), interpolation: interp,
                                                 fixedMask: fixedMask, movingMask: movingMask) { $0.hasPrefix("warning:") ? Log.warning($0) : Log.progress("  " + $0) }
            if json {
                var object = try JSONSerialization.jsonObject(with: Data(FileIO.jsonBytes(encoding: report))) as? [String: Any] ?? [:]
                object["command_seconds"] = Date().timeIntervalSince(started)
                try printJSON(object)
                return
            }
            // The whole command's time (reading, registering, warping, writing), not the optimiser's alone.
            var line = String(format: "%@ registration in %.1f s", t.rawValue, Date().timeIntervalSince(started))
            if let b = report.meanDiceBefore, let a = report.meanDiceAfter { line += String(format: "; mean Dice %.3f → %.3f", b, a) }
            if let j = report.jacobianMin { line += String(format: "; min Jacobian %.3f", j) }
            if let ic = report.inverseConsistencyMM { line += String(format: "; inverse consistency %.3f mm", ic) }
            print(line)
            print(out)
        }
    }
}
