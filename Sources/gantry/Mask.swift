import ArgumentParser
import Foundation
import GantryIO
import GantryRecon

extension Gantry {
    struct Mask: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an undersampling mask, print its statistics, and write it as PNG, NIfTI or HDF5.",
            discussion: "1D kinds (equispaced, random, gaussian1d) select kx columns, as fastMRI; 2D kinds (gaussian2d, poisson) select points."
        )

        @Option(help: "Pattern.")
        var kind: MaskKind = .random

        @Option(help: "Rows (ky).")
        var ny: Int = 320

        @Option(help: "Columns (kx).")
        var nx: Int = 320

        @Option(help: "Acceleration.")
        var accel: Double = 4

        @Option(help: "Fully sampled centre fraction.")
        var center: Double = 0.08

        @Option(help: "Seed.")
        var seed: Int = 0

        @Option(help: "Output: .png (picture), .nii/.nii.gz or .h5 (dataset `mask`).")
        var out: String?

        func run() throws {
            let k = kind
            guard (2...4096).contains(ny), (2...4096).contains(nx) else { throw ValidationError("--ny and --nx must be 2…4096") }
            guard seed >= 0 else { throw ValidationError("--seed must be non-negative") }
            let m = try SamplingMask(kind: k, acceleration: accel, centerFraction: center, seed: UInt64(seed)).make(ny: ny, nx: nx)
            let sampled = m.reduce(0, +)
            let box = CoilSensitivity.calibrationBox(mask: m, ny: ny, nx: nx)
            print(String(format: "%@ %d×%d: %d samples, R = %.3f, calibration region %d×%d", kind.rawValue, ny, nx, Int(sampled), Double(m.count) / Double(sampled), box.width, box.height))
            guard let out else { return }
            if out.hasSuffix(".png") {
                try PNG.write(out, width: nx, height: ny, pixels: m.map { $0 > 0 ? 255 : 0 }, rgb: false)
            } else if out.hasSuffix(".h5") {
                try HDF5Writer.create(out) { f in try f.writeFloats("mask", shape: [ny, nx], data: m) }
            } else {
                // voxel (x, y) = mask[y][x]
                try VolumeFile.write(try .init(shape: [nx, ny, 1], data: m), to: out, options: .init(datatype: .uint8))
            }
            print(out)
        }
    }
}
