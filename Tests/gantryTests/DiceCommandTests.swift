import Foundation
import GantryCore
import GantryIO
import GantryTestSupport
import XCTest

/// BraTS label conventions in `gantry dice`: enhancing tumour is label 4 up to BraTS 2021 and 3
/// from 2023; a reference in the other convention is warned about instead of scoring ET = 0.
final class DiceCommandTests: XCTestCase {
    func testLabelConventionsAndTheMismatchWarning() throws {
        let dir = try TempDir()
        var labels = [Float](repeating: 0, count: 12 * 12 * 12)
        for o in 0..<labels.count { labels[o] = [0, 1, 2, 4][o % 4] }  // BraTS 2021: ET = 4
        let v = try Volume(shape: [12, 12, 12], affine: .identity, data: labels)
        let path = dir.path + "/seg.nii.gz"
        try NIfTI.write(v, to: path, options: .init(datatype: .uint8))

        let old = try CLI.run(["dice", "--json", "--brats", "--label-convention", "brats2021", "--pred", path, "--ref", path])
        XCTAssertEqual(old.status, 0, old.stderr)
        let scores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(old.stdout.utf8)) as? [String: [String: Any]])
        XCTAssertEqual(scores["ET"]?["dice"] as? Double, 1)
        XCTAssertEqual(scores["ET"]?["TP"] as? Int, labels.filter { $0 == 4 }.count)
        XCTAssertFalse(old.stderr.contains("warning"), "no warning when the convention fits: \(old.stderr)")

        let wrong = try CLI.run(["dice", "--json", "--brats", "--pred", path, "--ref", path])
        XCTAssertEqual(wrong.status, 0, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("warning:") && wrong.stderr.contains("--label-convention brats2021"), wrong.stderr)
    }
}
