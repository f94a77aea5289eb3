import Foundation
import GantryCore
import GantryIO
@testable import GantryPhantoms
@testable import GantryPipeline
import GantryTestSupport
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

    static let tissueYAML = TestPipelines.tissue(name: "test-tissue", stages: """
      - id: pic
        uses: report.snapshot
        inputs: {image: inputs.t1w, labels: seg.mask}
    """ + "\n" + TestPipelines.diceTable + """
      - id: html
        uses: report.html
        inputs: {metrics: dice.metrics, pictures: pic.png}
    """)

    /// Every subject's T1w and tissue labels registered affinely onto sub-01's (stage `id`).
    static func registrationYAML(id: String) -> String {
        """
        name: reg
        inputs:
          t1w: anat/{subject}_T1w.nii.gz
          tissue: anat/{subject}_label-tissue_dseg.nii.gz
          ref: ../sub-01/anat/sub-01_T1w.nii.gz
          ref_tissue: ../sub-01/anat/sub-01_label-tissue_dseg.nii.gz
        stages:
          - id: \(id)
            uses: register.affine
            inputs: {fixed: inputs.ref, moving: inputs.t1w, moving_labels: inputs.tissue, fixed_labels: inputs.ref_tissue}
        """
    }

    static func plan(_ yaml: String = tissueYAML, out: String, subjects: [String] = []) throws -> Plan {
        try Plan.make(spec: PipelineSpec.parse(yaml, path: "test.yaml"), study: path, out: out, subjects: subjects)
    }
}

func tempOut() -> String { NSTemporaryDirectory() + "gantry-run-\(UUID().uuidString)" }

