import Foundation
import GantryCore
import GantryIO
import GantryMetrics

/// One reconstruction as the command line, the pipeline stages and the benchmarks run it: read the
/// k-space, reconstruct it, write the outputs and score the result against the file's
/// `reconstruction_rss` — so writing and scoring exist once.
public struct ReconJob: Sendable {
    /// Where the magnitude images go.
    public enum Output: Sendable, Equatable {
        /// A NIfTI volume (.nii/.nii.gz): voxel (x, y, slice) = (phase encode, readout, slice), on the
        /// subject's image grid when the file carries its geometry.
        case volume(String)
        /// BART's .cfl/.hdr (slices on BART's dimension 13).
        case bart(String)
        /// A copy of the input (.h5) with the mask used and `reconstruction_<method>`.
        case kspaceCopy(String)
        /// The fastMRI challenge's submission: `reconstruction` [slices, h, w], header and attributes.
        case fastMRISubmission(String)

        /// The output a path names by its extension.
        public init(path: String, fastMRISubmission: Bool = false) {
            if fastMRISubmission { self = .fastMRISubmission(path) }
            else if path.hasSuffix(".cfl") { self = .bart(path) }
            else if path.hasSuffix(".h5") { self = .kspaceCopy(path) }
            else { self = .volume(path) }
        }
    }

    public var input: String
    public var options: ReconOptions
    public var outputs: [Output]
    /// An image of the subject the reconstruction must land on (same grid and affine): the check
    /// that the k-space and the images it is compared with belong together.
    public var grid: String?

    public init(input: String, options: ReconOptions, outputs: [Output] = [], grid: String? = nil) {
        self.input = input; self.options = options; self.outputs = outputs; self.grid = grid
    }

    /// Reads, reconstructs, checks the grid, writes every output and scores the result.
    /// `progress` gets each finished slice's index and the number of slices.
    public func run(progress: @escaping @Sendable (_ slice: Int, _ slices: Int) -> Void = { _, _ in }) throws -> (report: ReconReport, result: ReconResult) {
        let file = try KSpaceFile.read(input)
        if grid != nil && file.geometry == nil {
            throw GantryError.invalidArgument("the k-space file has no image geometry (image_affine, image_shape, slice_indices), so its reconstruction cannot be placed on the grid of \(((grid ?? "") as NSString).lastPathComponent)")
        }
        let t0 = Date()
        let slices = file.slices
        let result = try Reconstructor.run(file, options: options) { progress($0, slices) }
        let seconds = Date().timeIntervalSince(t0)
        let volume = try grid.map { try checkedVolume(result, grid: $0) }
        for output in outputs { try write(result, file: file, volume: volume, to: output) }
        var report = try ReconReport.scoring(result, against: file, method: options.describedMethod)
        report.reconstructionSeconds = seconds
        return (report, result)
    }

    /// The result as a volume, refused when it does not land on `grid`'s voxels.
    func checkedVolume(_ result: ReconResult, grid: String) throws -> Volume {
        let volume = try result.volume()
        let (shape, _, header) = try NIfTI.readHeader(grid)
        let name = (grid as NSString).lastPathComponent
        guard Array(shape.prefix(3)) == volume.spatialShape else {
            throw GantryError.invalidArgument("the reconstruction's grid \(volume.spatialShape) differs from \(name)'s \(Array(shape.prefix(3))): the k-space does not belong to that image")
        }
        guard header.affineAtRead.maxDifference(volume.affine) < 1e-3 else {
            throw GantryError.invalidArgument("the k-space's image geometry places its slices elsewhere than \(name) (affines differ): it does not belong to that image")
        }
        return volume
    }

    func write(_ result: ReconResult, file: KSpaceFile, volume: Volume?, to output: Output) throws {
        let images = [result.slices, result.ny, result.nx]
        switch output {
        case .volume(let path):
            try VolumeFile.write(try volume ?? result.volume(), to: path)
        case .bart(let path):
            try BARTFile.writeImages(path, images: result.images, slices: result.slices, ny: result.ny, nx: result.nx)
        case .fastMRISubmission(let path):
            try HDF5Writer.create(path) { f in
                try f.writeFloats("reconstruction", shape: images, data: result.images)
                if let v = file.acquisition { try f.setAttribute("acquisition", .string(v)) }
                try file.writeHeaderAndAttributes(f)
            }
        case .kspaceCopy(let path):
            try HDF5Writer.create(path) { f in
                try f.writeComplex("kspace", shape: file.shape, data: file.kspace)
                try f.writeFloats("mask", shape: Array(file.shape.suffix(2)), data: result.mask)
                if let r = file.reconstructionRSS { try f.writeFloats("reconstruction_rss", shape: r.shape, data: r.data) }
                try f.writeFloats("reconstruction_\(options.method.rawValue)", shape: images, data: result.images)
                if let v = file.max { try f.setAttribute("max", .double(v)) }
                if let v = file.norm { try f.setAttribute("norm", .double(v)) }
                if let v = file.acquisition { try f.setAttribute("acquisition", .string(v)) }
                try file.writeHeaderAndAttributes(f)
            }
        }
    }
}

/// What a reconstruction did and how good it is: the CLI prints it (or its JSON), a pipeline stage
/// writes it as `metrics.json` (without the time: outputs are a function of inputs and
/// parameters), and the reports read it back.
public struct ReconReport: Codable, Sendable, Equatable {
    /// The method; learned ones with their cell (`cirim-indrnn`, `rim-gru`).
    public var method: String
    public var acceleration: Double
    public var slices: Int
    /// [slices, rows, columns] of the images.
    public var shape: [Int]?
    /// The file's `acquisition` attribute (fastMRI's contrast name).
    public var acquisition: String?
    /// Against the file's `reconstruction_rss` (whole stack; SSIM with fastMRI's 7×7 window).
    public var nmse: Double?
    public var psnr: Double?
    public var ssim: Double?
    /// Why the result was not scored although the file has a reference (another shape).
    public var notScored: String?
    public var reconstructionSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case method, acceleration, slices, shape, acquisition, nmse, psnr, ssim
        case notScored = "not_scored", reconstructionSeconds = "reconstruction_seconds"
    }

    public init(method: String, acceleration: Double, slices: Int, shape: [Int]? = nil, acquisition: String? = nil) {
        self.method = method; self.acceleration = acceleration; self.slices = slices; self.shape = shape; self.acquisition = acquisition
    }

    /// `result` described and scored against `file`'s reference, when shapes match.
    public static func scoring(_ result: ReconResult, against file: KSpaceFile, method: String) throws -> ReconReport {
        let images = [result.slices, result.ny, result.nx]
        var report = ReconReport(method: method, acceleration: result.acceleration, slices: result.slices, shape: images, acquisition: file.acquisition)
        guard let ref = file.reconstructionRSS else { return report }
        guard ref.shape == images else {
            report.notScored = "reconstruction_rss has shape \(ref.shape), the reconstruction \(images): not compared"
            return report
        }
        let range = Double(ref.data.max() ?? 0)
        report.nmse = ImageMetrics.nmse(result.images, reference: ref.data)
        report.psnr = ImageMetrics.psnr(result.images, reference: ref.data, dataRange: range)
        report.ssim = try ImageMetrics.ssim(result.images, reference: ref.data, slices: result.slices, ny: result.ny, nx: result.nx, dataRange: range)
        return report
    }

    /// The report without its time, as a derivative of the inputs.
    public var withoutTimes: ReconReport {
        var r = self
        r.reconstructionSeconds = nil
        return r
    }

    /// Reads a `metrics.json` a recon stage wrote.
    public static func read(_ path: String) throws -> ReconReport {
        try FileIO.readJSON(ReconReport.self, from: path, what: "a recon metrics file")
    }

    /// Writes the report (atomically, Gantry's JSON format).
    public func write(to path: String) throws {
        try FileIO.writeAtomically(path, bytes: try FileIO.jsonBytes(encoding: self))
    }
}

extension ReconOptions {
    /// The method as reports name it: learned methods with their recurrent cell.
    public var describedMethod: String {
        model.map { "\(method.rawValue)-\($0.network.config.recurrentLayer.rawValue.lowercased())" } ?? method.rawValue
    }
}
