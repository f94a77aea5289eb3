import Foundation
import GantryCore
import GantryIO

/// OUT as a BIDS derivatives dataset, as fMRIPrep ≥ 21 lays out its output folder: a
/// `dataset_description.json` (DatasetType, GeneratedBy, SourceDatasets, and a `raw` link the
/// sidecars' `bids:raw:` URIs resolve against), the published outputs under `sub-*/[ses-*/]anat/`,
/// and a `.bidsignore` for what is Gantry's own (stage folders, reports). Its content depends on the
/// plan alone — no time — so every run writes the same bytes.
public enum DerivativesDataset {
    public static let bidsVersion = "1.9.0"

    public static func description(_ plan: Plan) -> [String: Any] {
        var generatedBy: [String: Any] = ["Name": "Gantry", "Version": GantryVersion.string]
        generatedBy["Description"] = plan.spec.description.isEmpty ? "pipeline \(plan.spec.name)" : "pipeline \(plan.spec.name): \(plan.spec.description)"
        let raw = URL(fileURLWithPath: plan.study).absoluteString
        return ["Name": "Gantry derivatives: \(plan.spec.name)",
                "BIDSVersion": bidsVersion,
                "DatasetType": "derivative",
                "GeneratedBy": [generatedBy],
                "SourceDatasets": [["URL": raw]],
                "DatasetLinks": ["raw": raw]]
    }

    /// What the BIDS validator should not read: Gantry's stage folders and study reports.
    public static let ignored = ["\(Executor.stagesFolder)/", "reports/"]

    public static func write(_ plan: Plan) throws {
        try FileManager.default.createDirectory(atPath: plan.out, withIntermediateDirectories: true)
        try writeIfChanged(plan.out + "/dataset_description.json", try FileIO.jsonBytes(description(plan)))
        try writeIfChanged(plan.out + "/.bidsignore", Array((ignored.joined(separator: "\n") + "\n").utf8))
    }

    static func writeIfChanged(_ path: String, _ bytes: [UInt8]) throws {
        if let old = FileManager.default.contents(atPath: path), Array(old) == bytes { return }
        try FileIO.writeAtomically(path, bytes: bytes)
    }
}
