import ArgumentParser
import Foundation
import GantryIO
import GantryPhantoms

extension Gantry {
    struct Phantom: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a deterministic digital phantom.",
            discussion: "Kinds: shepp-logan (3D modified Shepp–Logan). Specs live in phantoms/."
        )

        enum Kind: String, ExpressibleByArgument, CaseIterable {
            case sheppLogan = "shepp-logan"
        }

        @Argument(help: "Phantom kind: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kind: Kind

        @Option(help: "Grid size (voxels per axis).")
        var size: Int = 128

        @Option(help: "Voxel size in mm.")
        var spacing: Double = 1

        @Option(help: "Random seed (phantoms with random anatomy).")
        var seed: Int = 0

        @Option(help: "Output folder (created if missing).")
        var out: String

        @OptionGroup var compute: ComputeOptions

        func validate() throws {
            guard (2...1024).contains(size) else { throw ValidationError("--size must be 2…1024") }
            guard spacing > 0 else { throw ValidationError("--spacing must be positive") }
        }

        func run() throws {
            try compute.apply()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            switch kind {
            case .sheppLogan:
                let v = try SheppLogan.volume(shape: [size, size, size], spacing: spacing)
                let path = out + "/shepp-logan.nii.gz"
                try NIfTI.write(v, to: path)
                print(path)
            }
        }
    }
}
