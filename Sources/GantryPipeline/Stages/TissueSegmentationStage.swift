import GantryCore
import GantryIO

/// `segment.tissue-kmeans`: classical tissue classification of a T1-weighted image: k-means on the
/// intensities inside the brain mask (optionally after Gaussian smoothing), classes numbered by
/// increasing mean intensity (on T1: 1 CSF, 2 GM, 3 WM). The mask carries the image's affine.
public enum TissueSegmentationStage: StageKind {
    public static let name = "segment.tissue-kmeans"
    public static let summary = "CSF/GM/WM by k-means on T1 intensities inside a brain mask."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["image"]
    public static let optionalInputs = ["mask"]
    public static let outputs = ["mask": "mask.nii.gz"]
    public static let parameters = [
        ParameterSpec("classes", .int, default: .int(3), help: "number of classes"),
        ParameterSpec("smoothing_mm", .double, default: .double(0), help: "Gaussian σ (mm) applied before clustering"),
    ]

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        var image = try VolumeFile.read(try inputs.path("image"))
        let k = parameters["classes"]?.intValue ?? 3
        guard (2...10).contains(k) else { throw GantryError.invalidArgument("classes must be 2…10") }
        let sigma = parameters["smoothing_mm"]?.doubleValue ?? 0
        if sigma > 0 { image = try image.gaussianSmoothed(sigmaMM: [sigma, sigma, sigma]) }
        var inside: [Bool]
        if let m = inputs.optionalPath("mask") {
            let mask = try VolumeFile.read(m)
            guard mask.spatialShape == image.spatialShape else { throw GantryError.invalidArgument("mask grid differs from the image") }
            inside = mask.data.map { $0 > 0.5 }
        } else {
            let hi = image.data.sorted()[image.count * 99 / 100]
            inside = image.data.map { $0 > 0.05 * hi }
        }
        let labels = try KMeans.classify(image.data, where: inside, classes: k)
        var out = try image.with(data: labels.map(Float.init))
        out.header = try VolumeFile.read(try inputs.path("image")).header  // source geometry codes
        guard let path = outputs["mask"] else { return }
        try NIfTI.write(out, to: path, options: NIfTIWriteOptions(datatype: .uint8))
    }
}

/// Deterministic 1-D k-means (Lloyd), initialised at evenly spaced quantiles.
public enum KMeans {
    /// Class 1…k per voxel where `mask` holds (0 elsewhere), numbered by increasing centre.
    public static func classify(_ values: [Float], where mask: [Bool], classes k: Int, iterations: Int = 50) throws -> [UInt8] {
        let sample = zip(values, mask).filter { $0.1 }.map { $0.0 }
        guard sample.count >= k else { throw GantryError.invalidArgument("too few voxels in the mask for \(k) classes") }
        let sorted = sample.sorted()
        var centres = (0..<k).map { Double(sorted[(sorted.count - 1) * (2 * $0 + 1) / (2 * k)]) }
        for _ in 0..<iterations {
            var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
            for v in sample {
                let c = nearest(Double(v), centres)
                sums[c] += Double(v); counts[c] += 1
            }
            let next = (0..<k).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : centres[$0] }
            if next == centres { break }
            centres = next
        }
        let order = centres.enumerated().sorted { $0.element < $1.element }.map(\.offset)
        var rank = [Int](repeating: 0, count: k)
        for (r, c) in order.enumerated() { rank[c] = r + 1 }
        return zip(values, mask).map { $0.1 ? UInt8(rank[nearest(Double($0.0), centres)]) : 0 }
    }

    @inline(__always)
    static func nearest(_ v: Double, _ c: [Double]) -> Int {
        var best = 0
        for i in 1..<c.count where abs(v - c[i]) < abs(v - c[best]) { best = i }
        return best
    }
}
