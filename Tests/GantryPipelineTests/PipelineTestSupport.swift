import Foundation
import GantryCore
import GantryIO
@testable import GantryPhantoms
@testable import GantryPipeline
import XCTest

/// A small ellipsoid-anatomy study shared by the pipeline tests (made once).
enum TestStudy {
    static let path: String = {
        let dir = NSTemporaryDirectory() + "gantry-pipeline-study-\(getpid())"
        if !FileManager.default.fileExists(atPath: dir + "/participants.tsv") {
            let anatomy = try? BrainAnatomy.ellipsoid(shape: [40, 48, 40], spacing: 4)
            if let anatomy {
                _ = try? PhantomStudy(subjects: 2, seed: 3, phantom: BrainTumourPhantom(anatomy: anatomy), kspaceSlices: 0).write(to: dir)
            }
        }
        return dir
    }()

    static let tissueYAML = """
    name: test-tissue
    inputs:
      t1w: anat/{subject}_T1w.nii.gz
      brain: anat/{subject}_label-brain_mask.nii.gz
      tissue: anat/{subject}_label-tissue_dseg.nii.gz
    stages:
      - id: seg
        uses: segment.tissue-kmeans
        inputs: {image: inputs.t1w, mask: inputs.brain}
        with: {classes: 3}
      - id: dice
        uses: metrics.dice
        inputs: {pred: seg.mask, ref: inputs.tissue}
        with: {labels: [1, 2, 3], names: "CSF, GM, WM"}
      - id: pic
        uses: report.snapshot
        inputs: {image: inputs.t1w, labels: seg.mask}
      - id: table
        uses: report.dice
        inputs: {metrics: dice.metrics}
      - id: html
        uses: report.html
        inputs: {metrics: dice.metrics, pictures: pic.png}
    """

    static func plan(_ yaml: String = tissueYAML, out: String, subjects: [String] = []) throws -> Plan {
        try Plan.make(spec: PipelineSpec.parse(yaml, path: "test.yaml"), study: path, out: out, subjects: subjects)
    }
}

func tempOut() -> String { NSTemporaryDirectory() + "gantry-run-\(UUID().uuidString)" }

