import Foundation
import GantryCore
import GantryIO
@testable import GantryPipeline
import XCTest

/// Units of a study: subjects, or subject × session where session folders exist (BIDS), with the
/// BIDS Apps' label filters; `{subject}` in an input pattern is the unit's file-name prefix.
final class PlanUnitsTests: XCTestCase {
    /// sub-01 with sessions 01 and 02, sub-02 with session 01, sub-03 without sessions.
    func makeSessionStudy() throws -> String {
        let dir = tempOut()
        let files = ["sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz", "sub-01/ses-02/anat/sub-01_ses-02_T1w.nii.gz",
                     "sub-02/ses-01/anat/sub-02_ses-01_T1w.nii.gz", "sub-03/anat/sub-03_T1w.nii.gz"]
        for f in files {
            try FileManager.default.createDirectory(atPath: dir + "/" + (f as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: dir + "/" + f, contents: Data([0]))
        }
        return dir
    }

    let yaml = """
    name: units
    inputs:
      t1w: anat/{subject}_T1w.nii.gz
    stages:
      - id: copy
        uses: io.convert
        inputs: {image: inputs.t1w}
    """

    func testSessionsAreUnitsAndLabelsFilterThem() throws {
        let study = try makeSessionStudy()
        defer { try? FileManager.default.removeItem(atPath: study) }
        let spec = try PipelineSpec.parse(yaml, path: "units.yaml")
        var plan = try Plan.make(spec: spec, study: study, out: "/tmp/x")
        XCTAssertEqual(plan.subjects, ["sub-01/ses-01", "sub-01/ses-02", "sub-02/ses-01", "sub-03"])
        XCTAssertEqual(plan.inputFiles["sub-01/ses-02"]?["t1w"], "\(study)/sub-01/ses-02/anat/sub-01_ses-02_T1w.nii.gz")
        XCTAssertEqual(plan.inputFiles["sub-03"]?["t1w"], "\(study)/sub-03/anat/sub-03_T1w.nii.gz")
        plan = try Plan.make(spec: spec, study: study, out: "/tmp/x", subjects: ["01"])
        XCTAssertEqual(plan.subjects, ["sub-01/ses-01", "sub-01/ses-02"])
        plan = try Plan.make(spec: spec, study: study, out: "/tmp/x", sessions: ["01"])
        XCTAssertEqual(plan.subjects, ["sub-01/ses-01", "sub-02/ses-01"])
        plan = try Plan.make(spec: spec, study: study, out: "/tmp/x", subjects: ["sub-01/ses-02", "03"])
        XCTAssertEqual(plan.subjects, ["sub-01/ses-02", "sub-03"])
        XCTAssertThrowsError(try Plan.make(spec: spec, study: study, out: "/tmp/x", subjects: ["04"])) { XCTAssertTrue("\($0)".contains("no subject sub-04"), "\($0)") }
        XCTAssertThrowsError(try Plan.make(spec: spec, study: study, out: "/tmp/x", subjects: ["03"], sessions: ["01"])) { XCTAssertTrue("\($0)".contains("no session ses-01"), "\($0)") }
    }
}

/// BraTS as published: `layout: brats`, one folder per case, `{subject}` the case name.
final class BraTSLayoutTests: XCTestCase {
    func testCaseFoldersAreUnitsAndOutputsStayInStages() throws {
        let study = tempOut(), out = tempOut()
        defer { for d in [study, out] { try? FileManager.default.removeItem(atPath: d) } }
        // Two BraTS 2021 cases made from the test study's subjects (ET relabelled 4, as BraTS 2021 has it).
        for (i, sub) in ["sub-01", "sub-02"].enumerated() {
            let case_ = String(format: "BraTS2021_%05d", i)
            try FileManager.default.createDirectory(atPath: "\(study)/\(case_)", withIntermediateDirectories: true)
            for (src, dst) in [("T1w", "t1"), ("label-brain_mask", "brainmask"), ("label-tissue_dseg", "tissue")] {
                try FileManager.default.copyItem(atPath: "\(TestStudy.path)/\(sub)/anat/\(sub)_\(src).nii.gz", toPath: "\(study)/\(case_)/\(case_)_\(dst).nii.gz")
            }
            let seg = try NIfTI.read("\(TestStudy.path)/\(sub)/anat/\(sub)_label-tumour_dseg.nii.gz")
            try NIfTI.write(try seg.with(data: seg.data.map { $0 == 3 ? 4 : $0 }), to: "\(study)/\(case_)/\(case_)_seg.nii.gz", options: .init(datatype: .uint8))
        }
        let yaml = """
        name: brats-layout
        layout: brats
        inputs:
          t1: "{subject}_t1.nii.gz"
          brain: "{subject}_brainmask.nii.gz"
          seg: "{subject}_seg.nii.gz"
        stages:
          - id: tissue
            uses: segment.tissue-kmeans
            inputs: {image: inputs.t1, mask: inputs.brain}
          - id: tumour-dice
            uses: metrics.dice
            inputs: {pred: inputs.seg, ref: inputs.seg}
            with: {labels: [1, 2, 3], regions: brats}
        """
        let spec = try PipelineSpec.parse(yaml, path: "brats.yaml")
        XCTAssertEqual(spec.layout, .brats)
        var plan = try Plan.make(spec: spec, study: study, out: out)
        XCTAssertEqual(plan.subjects, ["BraTS2021_00000", "BraTS2021_00001"])
        XCTAssertEqual(plan.inputFiles["BraTS2021_00001"]?["t1"], "\(study)/BraTS2021_00001/BraTS2021_00001_t1.nii.gz")
        plan = try Plan.make(spec: spec, study: study, out: out, subjects: ["BraTS2021_00001"])
        XCTAssertEqual(plan.subjects, ["BraTS2021_00001"])
        XCTAssertThrowsError(try Plan.make(spec: spec, study: study, out: out, subjects: ["01"])) { XCTAssertTrue("\($0)".contains("no case 01"), "\($0)") }

        _ = try Executor.run(try Plan.make(spec: spec, study: study, out: out))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/stages/BraTS2021_00000/tissue/mask.nii.gz"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/BraTS2021_00000"), "no BIDS form for a non-BIDS unit")
        // BraTS 2021 labels scored as 2023 would give ET = 0 silently: the stage warns and records it.
        let prov = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/stages/BraTS2021_00000/tumour-dice/provenance.json"))) as? [String: Any])
        let warnings = prov["warnings"] as? [String] ?? []
        XCTAssertTrue(warnings.contains { $0.contains("looks like brats2021 labels") && $0.contains("set label_convention: brats2021") }, "\(warnings)")
        // …and the HTML report lists it at the top, by subject and stage.
        let section = HTMLReportStage.warnings(root: out)
        XCTAssertTrue(section.contains("<h2>Warnings</h2>") && section.contains("BraTS2021_00000") && section.contains("looks like brats2021 labels"), section)
        XCTAssertThrowsError(try PipelineSpec.parse(yaml.replacingOccurrences(of: "layout: brats", with: "layout: nnunet"), path: "x.yaml")) {
            XCTAssertTrue("\($0)".contains("layout must be bids or brats"), "\($0)")
        }
    }
}
