import Foundation
import GantryCore
import GantryIO
@testable import GantryRecon
import XCTest

/// fastMRI brain files laid out as published (scripts/fixtures/make_fastmri_fixtures.py, h5py and
/// numpy with fastMRI's own transforms): 2× readout oversampling removed to reconSpace, the boolean
/// challenge mask used as given, geometry from the ISMRMRD header.
final class FastMRIAsPublishedTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fastmri").path

    func expected() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.dir + "/expected.json"))) as? [String: Any])
    }

    func testHeaderIsParsedFromTheXML() throws {
        let file = try KSpaceFile.read(Self.dir + "/brain_as_published.h5")
        let h = try XCTUnwrap(file.header)
        XCTAssertEqual(h.encoded.matrix, [64, 32, 1])
        XCTAssertEqual(h.recon.matrix, [32, 32, 1])
        XCTAssertEqual(h.recon.fieldOfView, [220, 220, 5])
        XCTAssertEqual(file.patientID, "a1b2c3")
        XCTAssertThrowsError(try ISMRMRDHeader.parse("<ismrmrdHeader><encoding>", path: "x.h5")) { e in
            XCTAssertTrue("\(e)".contains("not well-formed XML"), "\(e)")
        }
    }

    func testZeroFilledMatchesFastMRIsTransformsAtReconSpaceSize() throws {
        // The challenge file: undersampled k-space with its boolean mask and no reference.
        let file = try KSpaceFile.read(Self.dir + "/brain_challenge.h5")
        let result = try Reconstructor.run(file, options: ReconOptions(method: .zeroFilled))
        let e = try expected()
        XCTAssertEqual([result.slices, result.ny, result.nx], e["shape"] as? [Int])
        let ref = try XCTUnwrap(e["challenge_zero_filled"] as? [Double]).map(Float.init)
        let peak = ref.max() ?? 1
        let worst = zip(result.images, ref).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(worst / peak, 1e-4, "differs from rss(center_crop(ifft2c(k)))")
        XCTAssertEqual(result.acceleration, 1 / (e["sampled_fraction"] as? Double ?? 1), accuracy: 1e-6)
        // Geometry from the header: reconSpace FOV / matrix in-plane, encoded z FOV across slices.
        let v = try result.volume()
        XCTAssertEqual(v.shape, [32, 32, 3])
        for (a, b) in zip(v.spacing, e["spacing_mm"] as? [Double] ?? []) { XCTAssertEqual(a, b, accuracy: 1e-9) }
    }

    func testReferenceIsComparedWhenShapesMatch() throws {
        let file = try KSpaceFile.read(Self.dir + "/brain_as_published.h5")
        let result = try Reconstructor.run(file, options: ReconOptions(method: .zeroFilled))
        let ref = try XCTUnwrap(file.reconstructionRSS)
        XCTAssertEqual(ref.shape, [result.slices, result.ny, result.nx])
        let peak = ref.data.max() ?? 1
        XCTAssertLessThan((zip(result.images, ref.data).map { abs($0 - $1) }.max() ?? 1) / peak, 1e-4)
    }
}
