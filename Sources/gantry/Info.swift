import ArgumentParser
import GantryIO

extension Gantry {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a NIfTI or HDF5 file: datatype, shape, spacing, orientation, affine, value range; the dataset tree for HDF5."
        )

        @Argument(help: "A .nii, .nii.gz, .h5 or .hdf5 file.")
        var files: [String]

        func run() throws {
            for (i, f) in files.enumerated() {
                if i > 0 { print("") }
                print(try Inspect.describe(f))
            }
        }
    }
}
