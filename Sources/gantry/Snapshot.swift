import ArgumentParser
import GantryIO

extension Gantry {
    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a PNG of one slice, optionally with a label overlay (1 red, 2 green, 3 yellow, …)."
        )

        @Argument(help: "Image volume (.nii, .nii.gz, .h5).")
        var image: String

        @Option(help: "Label map drawn over the image (same grid).")
        var labels: String?

        @Option(help: "axial, coronal or sagittal.")
        var plane: String = "axial"

        @Option(help: "Slice index along the plane's axis in RAS order (default: middle).")
        var slice: Int?

        @Option(help: "Pixel replication factor (1–16).")
        var zoom: Int = 3

        @Option(help: "Output .png file.")
        var out: String

        func run() throws {
            guard let p = Overlay.Plane(rawValue: plane) else { throw ValidationError("--plane must be axial, coronal or sagittal") }
            let img = try VolumeFile.read(image)
            let lab = try labels.map { try VolumeFile.read($0) }
            try Overlay.writePNG(out, image: img, labels: lab, plane: p, index: slice, zoom: zoom)
            print(out)
        }
    }
}
