import Foundation
import GantryCore
import GantryPhantoms
import XCTest

final class SheppLoganTests: XCTestCase {
    struct Spec: Decodable { var name: String; var ellipsoids: [Ellipsoid] }

    func testSpecFileMatchesBuiltInTable() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../phantoms/shepp-logan.json").standardized
        let spec = try JSONDecoder().decode(Spec.self, from: Data(contentsOf: url))
        XCTAssertEqual(spec.ellipsoids, SheppLogan.modified)
    }

    func testKnownIntensitiesAndSymmetry() throws {
        let n = 65
        let v = try SheppLogan.volume(shape: [n, n, n], spacing: 2)
        // centre (0,0,0): inside ellipsoids 1 and 2 → 1 − 0.8 = 0.2
        XCTAssertEqual(v[32, 32, 32], 0.2, accuracy: 1e-6)
        // corner: outside everything
        XCTAssertEqual(v[0, 0, 0], 0)
        // inside the skull shell only, on the y axis near the edge (y = 0.9 > 0.874 + 0.0184? no; use 0.91)
        let j = Int((0.905 + 1) / 2 * Double(n - 1))
        XCTAssertEqual(v[32, j, 32], 1.0, accuracy: 1e-6)
        // the big right ventricle (value −0.2 on top of 0.2) at x = 0.22 → 0.0
        let i = Int(((0.22 + 1) / 2 * Double(n - 1)).rounded())
        XCTAssertEqual(v[i, 32, 32], 0.0, accuracy: 1e-6)
        // geometry: centred, 2 mm
        XCTAssertEqual(v.spacing, [2, 2, 2])
        let c = v.affine.apply((32, 32, 32))
        XCTAssertEqual(c.0, 0); XCTAssertEqual(c.1, 0); XCTAssertEqual(c.2, 0)
        XCTAssertEqual(v.orientation, "RAS")
    }

    func testDeterministic() throws {
        let a = try SheppLogan.volume(shape: [20, 24, 28])
        let b = try SheppLogan.volume(shape: [20, 24, 28])
        XCTAssertEqual(a.data, b.data)
    }
}
