import Foundation
import GantryCore
@testable import GantryPipeline
import GantryTestSupport
import XCTest

/// `matrix:` sweeps: one declaration becomes a stage per combination, named by its values, typed and
/// validated like any stage, cached per combination; study stages take lists and wildcards.
final class PipelineMatrixTests: XCTestCase {
    /// k-means with 2 and 3 classes × smoothing 0 and 1.5 mm, a Dice per combination, one table.
    static let yaml = TestPipelines.tissue(name: "sweep", stages: """
      - id: km
        uses: segment.tissue-kmeans
        matrix: {classes: [2, 3], smoothing: [0, 1.5]}
        inputs: {image: inputs.t1w, mask: inputs.brain}
        with: {classes: "${classes}", smoothing_mm: "${smoothing}"}
      - id: km-dice
        uses: metrics.dice
        matrix: {classes: [2, 3], smoothing: [0, 1.5]}
        inputs: {pred: "km-${classes}-${smoothing}.mask", ref: inputs.tissue}
        with: {labels: [1, 2, 3]}
      - id: sweep-table
        uses: report.dice
        inputs: {metrics: ["dice.metrics", "km-dice-*.metrics"]}
        with: {prefix: "sweep-"}
    """)

    func testDeclarationsExpandIntoNamedTypedStages() throws {
        let plan = try TestStudy.plan(Self.yaml, out: tempOut())
        let ids = plan.steps.map(\.stage.id)
        // An id without ${…} gets every value appended; '.' becomes 'p' in names (it separates outputs).
        XCTAssertEqual(ids.filter { $0.hasPrefix("km-") && !$0.hasPrefix("km-dice") }, ["km-2-0", "km-2-1p5", "km-3-0", "km-3-1p5"])
        XCTAssertEqual(ids.filter { $0.hasPrefix("km-dice") }, ["km-dice-2-0", "km-dice-2-1p5", "km-dice-3-0", "km-dice-3-1p5"])
        let km = try XCTUnwrap(plan.steps.first { $0.stage.id == "km-3-1p5" })
        XCTAssertEqual(km.parameters["classes"], .int(3), "a whole ${…} parameter keeps the value's type")
        XCTAssertEqual(km.parameters["smoothing_mm"], .double(1.5))
        XCTAssertEqual(km.stage.matrix, [.init(key: "classes", value: "3"), .init(key: "smoothing", value: "1.5")])
        let table = try XCTUnwrap(plan.steps.first { $0.stage.id == "sweep-table" })
        XCTAssertEqual(table.stage.inputs["metrics"], ["dice.metrics", "km-dice-2-0.metrics", "km-dice-2-1p5.metrics", "km-dice-3-0.metrics", "km-dice-3-1p5.metrics"],
                       "a wildcard stands for every matching stage, in file order")
    }

    func testASweepRunsCachesPerCombinationAndReportsEveryOne() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let first = try Executor.run(try TestStudy.plan(Self.yaml, out: out), options: RunOptions(jobs: 1))
        XCTAssertEqual(first.ran, 2 * (2 + 4 + 4) + 1)
        let rows = try String(contentsOfFile: out + "/reports/sweep-dice.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 2 * 5 * 3, "header + subjects × (1 + 4 combinations) × labels")
        // The two classes settings differ, so the sweep did what it says.
        let k2 = try Data(contentsOf: URL(fileURLWithPath: out + "/stages/sub-01/km-2-0/mask.nii.gz"))
        let k3 = try Data(contentsOf: URL(fileURLWithPath: out + "/stages/sub-01/km-3-0/mask.nii.gz"))
        XCTAssertNotEqual(k2, k3)
        // A new value runs only its own combinations; the others come from the cache.
        let wider = Self.yaml.replacingOccurrences(of: "smoothing: [0, 1.5]}", with: "smoothing: [0, 1.5, 3]}")
        let second = try Executor.run(try TestStudy.plan(wider, out: out), options: RunOptions(jobs: 1))
        XCTAssertEqual(Set(second.records.filter { $0.status == "ran" }.map(\.stage)), ["km-2-3", "km-3-3", "km-dice-2-3", "km-dice-3-3", "sweep-table"])
    }

    func assertInvalid(_ yaml: String, _ phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TestStudy.plan(yaml, out: tempOut()), file: file, line: line) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains(phrase), "'\(m)' lacks '\(phrase)'", file: file, line: line)
            XCTAssertTrue(m.hasPrefix("test.yaml:"), "'\(m)' must name the file and line", file: file, line: line)
            XCTAssertFalse(m.contains("\n"), file: file, line: line)
        }
    }

    func testBadSweepsAreOneLineErrors() {
        let y = Self.yaml
        assertInvalid(y.replacingOccurrences(of: "matrix: {classes: [2, 3], smoothing: [0, 1.5]}\n    inputs: {image", with: "matrix: {classes: [], smoothing: [0, 1.5]}\n    inputs: {image"),
                      "matrix 'classes' must be a non-empty list of values")
        assertInvalid(y.replacingOccurrences(of: "classes: [2, 3], smoothing: [0, 1.5]}\n    inputs: {image", with: "classes: [2, many], smoothing: [0, 1.5]}\n    inputs: {image"),
                      "parameter 'classes' must be int, got 'many'")
        assertInvalid(y.replacingOccurrences(of: "classes: \"${classes}\"", with: "classes: \"${clases}\""), "${clases} is not one of this stage's matrix names (classes, smoothing)")
        assertInvalid(y.replacingOccurrences(of: "classes: [2, 3], smoothing: [0, 1.5]}\n    inputs: {image", with: "classes: [2, 2], smoothing: [0, 1.5]}\n    inputs: {image"),
                      "matrix 'classes' lists '2' twice")
        assertInvalid(y.replacingOccurrences(of: "matrix: {classes: [2, 3], smoothing: [0, 1.5]}\n    inputs: {image", with: "matrix: [2, 3]\n    inputs: {image"),
                      "'matrix' must map names to lists of values")
        assertInvalid(y.replacingOccurrences(of: "\"km-dice-*.metrics\"", with: "\"nothing-*.metrics\""), "no stage id matches 'nothing-*'")
        let huge = "{" + (0..<5).map { "k\($0): [" + (0..<10).map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ") + "}"
        assertInvalid(y.replacingOccurrences(of: "matrix: {classes: [2, 3], smoothing: [0, 1.5]}\n    inputs: {image", with: "matrix: \(huge)\n    inputs: {image"),
                      "matrix gives more than 10000 combinations")
        // A subject stage reads one file per input.
        assertInvalid(y.replacingOccurrences(of: "inputs: {pred: \"km-${classes}-${smoothing}.mask\"", with: "inputs: {pred: \"km-?-*.mask\""),
                      "takes one reference (4 given); lists and wildcards are for study-level stages")
        // Two declarations whose combinations give the same id.
        assertInvalid(y.replacingOccurrences(of: "- id: km-dice\n", with: "- id: km\n").replacingOccurrences(of: "km-dice-*", with: "km-*"),
                      "is used twice")
    }
}
