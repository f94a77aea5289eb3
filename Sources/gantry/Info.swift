import ArgumentParser
import Foundation
import GantryIO

extension Gantry {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a NIfTI or HDF5 file: datatype, shape, spacing, orientation, affine, value range; the dataset tree for HDF5."
        )

        @Argument(help: "A .nii, .nii.gz, .h5 or .hdf5 file.")
        var files: [String]

        @Flag(help: "Print a JSON array with one object per file (header facts, geometry, value range; the HDF5 tree).")
        var json = false

        func run() throws {
            if json {
                let facts = try files.map { try Inspect.facts($0) }
                try printJSON(facts)
                return
            }
            for (i, f) in files.enumerated() {
                if i > 0 { print("") }
                print(try Inspect.describe(f))
            }
        }
    }
}
