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

    public static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName] {
        let k = parameters["classes"]?.intValue ?? 3
        return ["mask": .dseg(labels: k == 3 ? [(1, "CSF"), (2, "GM"), (3, "WM")] : (1...max(1, k)).map { ($0, "class\($0)") })]
    }

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
            let hi = image.data.orderStatistic(image.count * 99 / 100)
            inside = image.data.map { $0 > 0.05 * hi }
        }
        let labels = try KMeans.classify(image.data, where: inside, classes: k)
        var out = try image.with(data: labels.map(Float.init))
        out.header = try VolumeFile.read(try inputs.path("image")).header  // source geometry codes
        guard let path = outputs["mask"] else { return }
        try NIfTI.write(out, to: path, options: NIfTIWriteOptions(datatype: .uint8))
    }
}
