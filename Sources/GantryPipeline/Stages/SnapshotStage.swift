import Foundation
import GantryCore
import GantryIO

/// `report.snapshot`: a PNG of one slice with a label overlay, at the slice with most labelled voxels
/// (or the middle), with the reference labels beside it when given — and `snapshot.json` saying
/// which slice, plane and labels, so the HTML report can caption it (orientation letters, slice
/// index, colour legend).
public enum SnapshotStage: StageKind {
    public static let name = "report.snapshot"
    public static let summary = "PNG of the most informative slice with a label overlay."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["image"]
    public static let optionalInputs = ["labels", "reference", "checkerboard"]
    public static let outputs = ["png": "snapshot.png", "info": "snapshot.json"]
    public static let parameters = [
        ParameterSpec("plane", .string, default: .string("axial"), help: "axial, coronal or sagittal"),
        ParameterSpec("zoom", .int, default: .int(2), help: "pixel replication"),
        ParameterSpec("names", .string, default: .string(""), help: "label names for the legend, comma-separated, in label order"),
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
        let reference = try inputs.optionalPath("reference").map { try VolumeFile.read($0) }
        let zoom = parameters["zoom"]?.intValue ?? 2
        let checker = try inputs.optionalPath("checkerboard").map { try VolumeFile.read($0) }
        if let checker {
            try Overlay.writeCheckerboard(out, image, checker, plane: plane, index: index, zoom: zoom)
        } else if reference != nil {
            try Overlay.writePanels(out, image: image, labels: [labels, reference], plane: plane, index: index, zoom: zoom)
        } else {
            try Overlay.writePNG(out, image: image, labels: labels, plane: plane, index: index, zoom: zoom)
        }
        let ras = try image.reorientedToRAS().spatialShape
        let sliceAxis = plane == .axial ? 2 : plane == .coronal ? 1 : 0
        let present = Set(([labels, reference].compactMap { $0 }).flatMap { $0.data.map { Int($0.rounded()) } }).filter { $0 > 0 }.sorted()
        let names = (parameters["names"]?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let info: [String: Any] = ["plane": plane.rawValue, "slice": index ?? ras[sliceAxis] / 2, "slices": ras[sliceAxis],
                                   "panels": checker != nil ? ["checkerboard: image | other"] : reference == nil ? ["prediction"] : ["prediction", "reference"],
                                   "labels": present.map { l -> [String: Any] in
                                       let c = Overlay.palette[(l - 1) % Overlay.palette.count]
                                       return ["value": l, "name": l - 1 < names.count ? names[l - 1] : "label \(l)",
                                               "colour": String(format: "#%02x%02x%02x", c.0, c.1, c.2)]
                                   }]
        if let path = outputs["info"] {
            try FileIO.writeJSON(path, info)
        }
    }
}
