import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryRegistration

extension Gantry {
    struct WarpImage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warp",
            abstract: "Apply a saved registration to an image or label map (antsApplyTransforms-style).",
            discussion: """
            The transform is what `gantry register` wrote: fixed world → moving world is x ↦ A(x + u(x)) \
            with A from --affine (ITK text or ANTs' *GenericAffine.mat) and u from --field (Gantry's field.nii.gz or ANTs' *Warp.nii.gz). Forward pulls an \
            image on the moving side onto --reference (the fixed grid). With --inverse an image on the \
            fixed side goes onto a moving-side grid: y ↦ z + w(z), z = A⁻¹y, with w from --inverse-field \
            (register's exact inverse_field.nii.gz) or, without it, the field inverted numerically.
            """
        )

        @Option(help: "Image or label map to resample.") var input: String
        @Option(help: "Grid (and geometry) of the output.") var reference: String
        @Option(help: "Affine transform: ITK text (affine.txt) or ANTs' *GenericAffine.mat.") var affine: String?
        @Option(help: "Displacement field: field.nii.gz or ANTs' *Warp.nii.gz (5D vectors in LPS mm).") var field: String?
        @Option(help: "Exact inverse field for --inverse (inverse_field.nii.gz).") var inverseField: String?
        @Flag(help: "Apply the inverse transform (fixed side → moving grid).") var inverse = false
        @Flag(help: "The input is a label map: per-label linear interpolation + argmax, integer output.") var labels = false
        @Option(help: "Interpolation for images: linear, bspline (cubic) or nearest.") var interpolation: Interpolation = .linear
        @Option(help: "Output file (.nii, .nii.gz, .h5).") var out: String
        @OptionGroup var compute: ComputeOptions

        func validate() throws {
            guard affine != nil || field != nil else { throw ValidationError("give --affine and/or --field") }
            guard inverseField == nil || inverse else { throw ValidationError("--inverse-field goes with --inverse") }
        }

        func run() throws {
            try compute.apply()
            let transform = try RegistrationJob.loadTransform(affine: affine, field: field, inverseField: inverseField)
            let image = try VolumeFile.read(input), grid = try VolumeFile.read(reference)
            guard image.shape.count == 3 || image.frames == 1 else { throw GantryError.invalidFile(path: input, problem: "warp takes one 3D volume, not \(image.shape)") }
            let result: Volume
            let options: NIfTIWriteOptions
            if labels {
                result = try transform.warpLabels(image, onto: grid, inverse: inverse)
                options = .labels(result)
            } else {
                result = try transform.warp(image, onto: grid, interpolation: interpolation, inverse: inverse)
                options = NIfTIWriteOptions(datatype: .float32)
            }
            try VolumeFile.write(result, to: out, options: options)
            print(out)
        }
    }
}
