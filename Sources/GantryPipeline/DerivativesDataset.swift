import Foundation
import GantryCore
import GantryIO

/// `OUT/derivatives/gantry/dataset_description.json`: what makes the output folder a BIDS
/// derivatives dataset (DatasetType, GeneratedBy, SourceDatasets), as fMRIPrep and the other BIDS
/// Apps write it. Its content depends on the plan alone — no time — so every run writes the same bytes.
public enum DerivativesDataset {
    public static let bidsVersion = "1.9.0"

    public static func description(_ plan: Plan) -> [String: Any] {
        var generatedBy: [String: Any] = ["Name": "Gantry", "Version": GantryVersion.string]
        generatedBy["Description"] = plan.spec.description.isEmpty ? "pipeline \(plan.spec.name)" : "pipeline \(plan.spec.name): \(plan.spec.description)"
        return ["Name": "Gantry derivatives: \(plan.spec.name)",
                "BIDSVersion": bidsVersion,
                "DatasetType": "derivative",
                "GeneratedBy": [generatedBy],
                "SourceDatasets": [["URL": URL(fileURLWithPath: plan.study).absoluteString]]]
    }

    public static func write(_ plan: Plan) throws {
        let folder = try FileLock.createFolders("derivatives/gantry", under: plan.out)
        let bytes = try JSONSerialization.data(withJSONObject: description(plan), options: [.prettyPrinted, .sortedKeys])
        let path = folder + "/dataset_description.json"
        if FileManager.default.contents(atPath: path) == bytes { return }
        try FileIO.writeAtomically(path, bytes: Array(bytes))
    }
}
