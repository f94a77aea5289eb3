import ArgumentParser
import GantryIO

extension Gantry {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert between .nii, .nii.gz, .h5 and BART's .cfl, keeping geometry (qform/sform and codes).",
            discussion: "The output is written under a temporary name and renamed, so a failure leaves nothing behind. Complex data stay complex; BART's .cfl/.hdr keeps no geometry (read: 1 mm voxels, axes taken as RAS; written: the geometry is lost)."
        )

        @Argument(help: "Input file (.nii, .nii.gz, .h5, .cfl).")
        var input: String

        @Argument(help: "Output file (.nii, .nii.gz, .h5, .cfl).")
        var output: String

        @Option(help: "Stored datatype for NIfTI output: uint8, int8, int16, uint16, int32, float32, float64 (default: as read).")
        var datatype: String?

        @Option(help: "gzip level for .nii.gz (0–12, libdeflate scale).")
        var gzipLevel: Int = 1

        @Option(help: "NIfTI version of the output (1 or 2; default: as read).")
        var niftiVersion: Int?

        @OptionGroup var compute: ComputeOptions

        func validate() throws {
            if let d = datatype, NIfTIDataType(name: d) == nil { throw ValidationError("unknown datatype '\(d)'") }
            guard (0...12).contains(gzipLevel) else { throw ValidationError("--gzip-level must be 0…12") }
            if let v = niftiVersion, v != 1 && v != 2 { throw ValidationError("--nifti-version must be 1 or 2") }
        }

        func run() throws {
            try compute.apply()
            let options = NIfTIWriteOptions(datatype: datatype.flatMap(NIfTIDataType.init(name:)), gzipLevel: gzipLevel, version: niftiVersion)
            try VolumeFile.convert(input, to: output, options: options)
            print("wrote \(output)")
        }
    }
}
