import Foundation
import GantryCore
import GantryIO
import GantryMetrics

/// `metrics.dice`: Dice, HD95 (mm), volumes (mL) and raw TP/FP/FN of a predicted label map against
/// a reference, per label and per region (`regions: brats` adds WT/TC/ET). Empty-mask rule: Dice 1 and
/// HD95 0 when both are empty; Dice 0 and HD95 null when only one is.
public enum DiceStage: StageKind {
    public static let name = "metrics.dice"
    public static let summary = "Dice, HD95, volumes per label/region of a prediction vs a reference."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["pred", "ref"]
    public static let outputs = ["metrics": "metrics.json"]
    public static let parameters = [
        ParameterSpec("labels", .intList, help: "labels to score, e.g. [1, 2, 3]"),
        ParameterSpec("regions", .string, default: .string(""), help: "'brats' adds whole tumour, tumour core, enhancing tumour"),
        ParameterSpec("label_convention", .string, default: .string("brats2023"), help: "BraTS labels: brats2023 (enhancing = 3) or brats2021 (enhancing = 4)"),
        ParameterSpec("names", .string, default: .string(""), help: "comma-separated display names for the labels"),
    ]

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let predPath = try inputs.path("pred"), refPath = try inputs.path("ref")
        let labels = parameters["labels"]?.intList ?? []
        let name = parameters["label_convention"]?.stringValue ?? "brats2023"
        guard let convention = BraTSConvention(rawValue: name) else { throw GantryError.invalidArgument("label_convention must be brats2021 or brats2023, got '\(name)'") }
        let regions = parameters["regions"]?.stringValue == "brats" ? convention.regions : []
        let ref = try VolumeFile.read(refPath)
        if !regions.isEmpty, let w = convention.mismatch(in: Set(ref.data.map { Int($0.rounded()) })) {
            context.warn(w.replacingOccurrences(of: "pass --label-convention", with: "set label_convention:"))
        }
        let m = try SegmentationMetrics.compare(pred: VolumeFile.read(predPath), ref: ref, labels: labels, regions: regions)
        let names = (parameters["names"]?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let file = SubjectMetrics(subject: context.subject ?? "", predictionFile: context.recorded(predPath), referenceFile: context.recorded(refPath),
                                  labels: m.map(\.0), names: m.enumerated().map { i, e in i < names.count ? names[i] : e.0 },
                                  metrics: m.map(\.1))
        guard let out = outputs["metrics"] else { return }
        try FileIO.writeAtomically(out, bytes: try FileIO.jsonBytes(encoding: file))
    }
}

/// The per-subject metrics file (`metrics.json`).
public struct SubjectMetrics: Codable, Sendable {
    public var subject: String
    public var predictionFile: String
    public var referenceFile: String
    /// Label values or region names, in order.
    public var labels: [String]
    /// Display names (e.g. "CSF"), same order.
    public var names: [String]
    public var metrics: [OverlapMetrics]

    enum CodingKeys: String, CodingKey {
        case subject, predictionFile = "prediction_file", referenceFile = "reference_file", labels, names, metrics
    }
}
