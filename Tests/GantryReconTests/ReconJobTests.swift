import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryPhantoms
import GantryTestSupport
@testable import GantryRecon
import XCTest

/// One reconstruction job: outputs by extension, the report's scores against the file's reference
/// (and its JSON round trip), and the refusals of a reference or grid that does not belong.
final class ReconJobTests: XCTestCase {
    func file() throws -> KSpaceFile {
        let a = try BrainAnatomy.ellipsoid(shape: [40, 44, 8], spacing: 4)
        let t1 = try XCTUnwrap(try BrainTumourPhantom(anatomy: a).subject(seed: 3).contrasts[.t1])
        return try CoilSimulation(coils: 4, snr: 80, seed: 2).simulate(t1, slices: [3, 4], acquisition: "AXT1")
    }

    func testOutputsByExtension() {
        XCTAssertEqual(ReconJob.Output(path: "a.nii.gz"), .volume("a.nii.gz"))
        XCTAssertEqual(ReconJob.Output(path: "a.cfl"), .bart("a.cfl"))
        XCTAssertEqual(ReconJob.Output(path: "a.h5"), .kspaceCopy("a.h5"))
        XCTAssertEqual(ReconJob.Output(path: "a.h5", fastMRISubmission: true), .fastMRISubmission("a.h5"))
    }

    func testReportScoresAgainstTheReferenceAndRoundTrips() throws {
        let dir = try TempDir()
        let input = dir.path + "/k.h5"
        try file().write(input)
        let options = ReconOptions(method: .csTV, mask: SamplingMask(kind: .equispaced, acceleration: 3, centerFraction: 0.25, seed: 0))
        let (report, result) = try ReconJob(input: input, options: options, outputs: [.volume(dir.path + "/r.nii.gz"), .kspaceCopy(dir.path + "/r.h5")]).run()
        let ref = try XCTUnwrap(try KSpaceFile.read(input).reconstructionRSS)
        XCTAssertEqual(report.method, "cs-tv")
        XCTAssertEqual(report.shape, [result.slices, result.ny, result.nx])
        XCTAssertEqual(report.acquisition, "AXT1")
        XCTAssertEqual(try XCTUnwrap(report.psnr), ImageMetrics.psnr(result.images, reference: ref.data, dataRange: Double(ref.data.max() ?? 0)))
        XCTAssertNil(report.notScored)
        XCTAssertNotNil(report.reconstructionSeconds)
        // the volume written is the result; the k-space copy holds it under the method's name
        XCTAssertEqual(try VolumeFile.read(dir.path + "/r.nii.gz").data, try result.volume().data)
        XCTAssertEqual(try HDF5File(readingFrom: dir.path + "/r.h5").readFloats("reconstruction_cs-tv").data, result.images)
        // metrics.json as a stage writes it: no time; read back equal
        try report.withoutTimes.write(to: dir.path + "/metrics.json")
        XCTAssertEqual(try ReconReport.read(dir.path + "/metrics.json"), report.withoutTimes)
        XCTAssertFalse(try String(contentsOfFile: dir.path + "/metrics.json", encoding: .utf8).contains("seconds"))
        try "{\"psnr\": 3}".write(toFile: dir.path + "/bad.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReconReport.read(dir.path + "/bad.json")) { XCTAssertTrue("\($0)".contains("not a recon metrics file"), "\($0)") }
    }

    func testAReferenceOfAnotherShapeIsNotScored() throws {
        var f = try file()
        let ref = try XCTUnwrap(f.reconstructionRSS)
        f.reconstructionRSS = ([ref.shape[0], ref.shape[1] - 1, ref.shape[2]], Array(ref.data.prefix(ref.shape[0] * (ref.shape[1] - 1) * ref.shape[2])))
        let result = try Reconstructor.run(f, options: ReconOptions())
        let report = try ReconReport.scoring(result, against: f, method: "zf")
        XCTAssertNil(report.psnr)
        XCTAssertTrue(try XCTUnwrap(report.notScored).contains("not compared"))
    }

    func testAGridTheReconstructionDoesNotLandOnIsRefused() throws {
        let dir = try TempDir()
        try file().write(dir.path + "/k.h5")
        try VolumeFile.write(try Volume(shape: [4, 4, 4], affine: .identity, data: [Float](repeating: 0, count: 64)), to: dir.path + "/grid.nii.gz")
        XCTAssertThrowsError(try ReconJob(input: dir.path + "/k.h5", options: ReconOptions(), grid: dir.path + "/grid.nii.gz").run()) {
            XCTAssertTrue("\($0)".contains("the k-space does not belong to that image"), "\($0)")
        }
    }
}
