import GantryCore
import GantryIO

/// `report.snapshot`: a PNG of one slice with a label overlay, at the slice with most labelled voxels
/// (or the middle) — for the HTML report.
public enum SnapshotStage: StageKind {
    public static let name = "report.snapshot"
    public static let summary = "PNG of the most informative slice with a label overlay."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["image"]
    public static let optionalInputs = ["labels"]
    public static let outputs = ["png": "snapshot.png"]
    public static let parameters = [
        ParameterSpec("plane", .string, default: .string("axial"), help: "axial, coronal or sagittal"),
        ParameterSpec("zoom", .int, default: .int(2), help: "pixel replication"),
    ]

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        guard let plane = Overlay.Plane(rawValue: parameters["plane"]?.stringValue ?? "axial") else {
            throw GantryError.invalidArgument("plane must be axial, coronal or sagittal")
        }
        let image = try VolumeFile.read(try inputs.path("image"))
        let labels = try inputs.optionalPath("labels").map { try VolumeFile.read($0) }
        var index: Int? = nil
        if let l = try labels?.reorientedToRAS() {
            let s = l.spatialShape
            let axis = plane == .axial ? 2 : plane == .coronal ? 1 : 0
            var counts = [Int](repeating: 0, count: s[axis])
            for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] where l.data[i + s[0] * (j + s[1] * k)] > 0 {
                counts[[i, j, k][axis]] += 1
            } } }
            if let best = counts.indices.max(by: { counts[$0] < counts[$1] }), counts[best] > 0 { index = best }
        }
        guard let out = outputs["png"] else { return }
        try Overlay.writePNG(out, image: image, labels: labels, plane: plane, index: index, zoom: parameters["zoom"]?.intValue ?? 2)
    }
}
