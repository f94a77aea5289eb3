import Foundation
import GantryCore
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
            FileManager.default.createFile(atPath: dir + "/" + f, contents: Data([0]))
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
