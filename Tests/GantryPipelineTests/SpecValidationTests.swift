import Foundation
import GantryCore
@testable import GantryPipeline
import XCTest

/// Every validation error is caught before anything runs, as one line naming the file and line.
final class SpecValidationTests: XCTestCase {
    func assertInvalid(_ yaml: String, _ phrase: String, line: Int? = nil, file: StaticString = #filePath, testLine: UInt = #line) {
        let out = tempOut()
        XCTAssertThrowsError(try TestStudy.plan(yaml, out: out), file: file, line: testLine) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains(phrase), "'\(m)' lacks '\(phrase)'", file: file, line: testLine)
            XCTAssertTrue(m.hasPrefix("test.yaml"), "'\(m)' must name the file", file: file, line: testLine)
            if let line { XCTAssertTrue(m.hasPrefix("test.yaml:\(line):"), "'\(m)' must point at line \(line)", file: file, line: testLine) }
            XCTAssertFalse(m.contains("\n"), file: file, line: testLine)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "validation must not create outputs", file: file, line: testLine)
    }

    func replacing(_ a: String, _ b: String) -> String {
        precondition(TestStudy.tissueYAML.contains(a))
        return TestStudy.tissueYAML.replacingOccurrences(of: a, with: b)
    }

    func testValidPlan() throws {
        let plan = try TestStudy.plan(out: tempOut())
        XCTAssertEqual(plan.subjects, ["sub-01", "sub-02"])
        XCTAssertEqual(plan.steps.map(\.stage.id), ["seg", "dice", "pic", "table", "html"])
        XCTAssertEqual(plan.steps[0].parameters["smoothing_mm"], .double(0))  // default filled in
    }

    func testUnknownStageKind() {
        assertInvalid(replacing("uses: segment.tissue-kmeans", "uses: segment.magic"), "unknown stage kind 'segment.magic'", line: 8)
    }

    func testUnknownParameter() {
        assertInvalid(replacing("with: {classes: 3}", "with: {classes: 3, colour: red}"), "has no parameter 'colour'", line: 10)
    }

    func testWrongParameterType() {
        assertInvalid(replacing("with: {classes: 3}", "with: {classes: three}"), "parameter 'classes' must be int", line: 10)
        assertInvalid(replacing("with: {labels: [1, 2, 3]", "with: {labels: 5"), "must be list of int")
    }

    func testMissingRequiredParameter() {
        assertInvalid(replacing("with: {labels: [1, 2, 3], names: \"CSF, GM, WM\"}", "with: {names: \"x\"}"), "missing required parameter 'labels'")
    }

    func testMissingInputFile() {
        assertInvalid(replacing("t1w: anat/{subject}_T1w.nii.gz", "t1w: anat/{subject}_T7w.nii.gz"), "sub-01: no file for input 't1w'", line: 3)
    }

    func testBadReferences() {
        assertInvalid(replacing("ref: inputs.tissue", "ref: inputs.nothing"), "no pipeline input 'nothing'")
        assertInvalid(replacing("pred: seg.mask", "pred: seg.labels"), "has no output 'labels'")
        assertInvalid(replacing("pred: seg.mask", "pred: ghost.mask"), "no stage 'ghost'")
        assertInvalid(replacing("inputs: {image: inputs.t1w, labels: seg.mask}", "inputs: {image: inputs.t1w, labels: table.csv}"), "cannot use the study-level output")
    }

    func testCycle() {
        let yaml = replacing("inputs: {image: inputs.t1w, mask: inputs.brain}", "inputs: {image: inputs.t1w, mask: pic.png}")
        assertInvalid(yaml, "cycle")
    }

    func testTwoStagesWritingTheSameReport() {
        assertInvalid(TestStudy.tissueYAML + "\n  - id: table2\n    uses: report.dice\n    inputs: {metrics: dice.metrics}\n", "both write reports/dice.csv")
    }

    func testOutputEscapingOut() {
        assertInvalid(replacing("uses: report.dice\n    inputs: {metrics: dice.metrics}", "uses: report.dice\n    inputs: {metrics: dice.metrics}\n    with: {prefix: \"../../\"}"), "escape the output folder")
    }

    func testDuplicateIDsAndUnknownKeysAndBadYAML() {
        assertInvalid(replacing("- id: pic", "- id: seg"), "stage id 'seg' is used twice")
        assertInvalid(replacing("stages:", "stagez: 1\nstages:"), "unknown key 'stagez'")
        assertInvalid("name: [unclosed", "not valid YAML")
        assertInvalid(replacing("  - id: dice\n", "  - id: dice\n    run: now\n"), "unknown stage key 'run'")
    }

    func testInputPatternsStayInsideTheStudy() throws {
        assertInvalid(replacing("t1w: anat/{subject}_T1w.nii.gz", "t1w: ../../etc/passwd"), "must stay inside the study folder", line: 3)
        assertInvalid(replacing("t1w: anat/{subject}_T1w.nii.gz", "t1w: /etc/passwd"), "must stay inside the study folder", line: 3)
        // one leading ../ reaches another subject (a reference / template)
        let plan = try TestStudy.plan(replacing("t1w: anat/{subject}_T1w.nii.gz", "t1w: ../sub-01/anat/sub-01_T1w.nii.gz"), out: tempOut())
        XCTAssertEqual(plan.inputFiles["sub-02"]?["t1w"], TestStudy.path + "/sub-01/anat/sub-01_T1w.nii.gz")
    }

    func testUnknownInputName() {
        assertInvalid(replacing("inputs: {pred: seg.mask, ref: inputs.tissue}", "inputs: {pred: seg.mask, ref: inputs.tissue, extra: inputs.t1w}"), "has no input 'extra'")
        assertInvalid(replacing("inputs: {pred: seg.mask, ref: inputs.tissue}", "inputs: {pred: seg.mask}"), "missing input 'ref'")
    }
}
