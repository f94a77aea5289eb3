import Foundation
import GantryCore
import GantryIO
@testable import GantryRegistration
import XCTest

/// The typed registration report: what `run` returns is what registration.json holds (without the
/// time), and its Dice figures are the per-label ones.
final class RegistrationReportTests: XCTestCase {
    func blob(shift: Double) throws -> (image: Volume, labels: Volume) {
        let n = 24
        var image = [Float](repeating: 0, count: n * n * n), labels = image
        for z in 0..<n { for y in 0..<n { for x in 0..<n {
            let d2 = pow(Double(x) - 11 - shift, 2) + pow(Double(y) - 12, 2) / 1.5 + pow(Double(z) - 12, 2) / 2
            let v = Float(exp(-d2 / 30))
            image[(z * n + y) * n + x] = v
            labels[(z * n + y) * n + x] = v > 0.5 ? 1 : (v > 0.2 ? 2 : 0)
        } } }
        let affine = Affine.scaling([2, 2, 2])
        return (try Volume(shape: [n, n, n], affine: affine, data: image), try Volume(shape: [n, n, n], affine: affine, data: labels))
    }

    func testReportIsWhatTheFileHolds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixed = try blob(shift: 0), moving = try blob(shift: 2.5)
        try NIfTI.write(fixed.image, to: dir + "/f.nii.gz"); try NIfTI.write(fixed.labels, to: dir + "/fl.nii.gz")
        try NIfTI.write(moving.image, to: dir + "/m.nii.gz"); try NIfTI.write(moving.labels, to: dir + "/ml.nii.gz")
        let report = try RegistrationJob.run(fixed: dir + "/f.nii.gz", moving: dir + "/m.nii.gz", movingLabels: dir + "/ml.nii.gz",
                                             fixedLabels: dir + "/fl.nii.gz", type: .rigid, metric: .ncc, out: dir + "/reg")
        let stored = try RegistrationReport.read(dir + "/reg/registration.json")
        XCTAssertNil(stored.seconds, "the file holds results only")
        XCTAssertNotNil(report.seconds)
        var withoutTime = report
        withoutTime.seconds = nil
        XCTAssertEqual(stored, withoutTime)
        let dice = try XCTUnwrap(report.dice)
        XCTAssertEqual(dice.map(\.label), [1, 2])
        XCTAssertEqual(try XCTUnwrap(report.meanDiceAfter), dice.map(\.after).reduce(0, +) / 2, accuracy: 1e-12)
        XCTAssertGreaterThan(try XCTUnwrap(report.meanDiceAfter), try XCTUnwrap(report.meanDiceBefore) + 0.1, "a 5 mm shift undone")
        XCTAssertNil(report.deformableMetric, "rigid")
        try "[1, 2]".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RegistrationReport.read(dir + "/bad.json")) { XCTAssertTrue("\($0)".contains("not a registration.json"), "\($0)") }
    }
}
