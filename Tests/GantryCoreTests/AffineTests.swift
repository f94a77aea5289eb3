import GantryCore
import XCTest

final class AffineTests: XCTestCase {
    let oblique = Affine(rows: [[0.9, -0.3, 0.1, 10], [0.35, 1.1, -0.2, -5], [0.05, 0.25, 2.1, 3], [0, 0, 0, 1]])

    func testInverseTimesSelfIsIdentity() throws {
        let inv = try XCTUnwrap(oblique.inverse)
        XCTAssertLessThan((inv * oblique).maxDifference(.identity), 1e-12)
        XCTAssertLessThan((oblique * inv).maxDifference(.identity), 1e-12)
        XCTAssertNil(Affine(rows: [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]).inverse)
    }

    func testApplyMatchesMatrixProduct() {
        let p = oblique.apply((1, 2, 3))
        XCTAssertEqual(p.0, 0.9 - 0.6 + 0.3 + 10, accuracy: 1e-12)
        XCTAssertEqual(p.1, 0.35 + 2.2 - 0.6 - 5, accuracy: 1e-12)
        XCTAssertEqual(p.2, 0.05 + 0.5 + 6.3 + 3, accuracy: 1e-12)
    }

    func testAxisCodes() {
        XCTAssertEqual(Orientation.axisCodes(of: .identity), ["R", "A", "S"])
        XCTAssertEqual(Orientation.axisCodes(of: .scaling([-1, -1, 1])), ["L", "P", "S"])
        // voxel axes permuted: i runs along -z, j along +x, k along -y  → "IRP"
        let perm = Affine(rows: [[0, 1, 0, 0], [0, 0, -1, 0], [-1, 0, 0, 0], [0, 0, 0, 1]])
        XCTAssertEqual(Orientation.axisCodes(of: perm), ["I", "R", "P"])
        XCTAssertEqual(Orientation.axisCodes(of: oblique), ["R", "A", "S"])
    }
}
