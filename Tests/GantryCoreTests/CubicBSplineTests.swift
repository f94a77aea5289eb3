import Foundation
@testable import GantryCore
import XCTest

final class CubicBSplineTests: XCTestCase {
    struct Case: Decodable { let shape: [Int]; let data: [Float]; let points: [Double]; let values: [Double] }
    struct Fixture: Decodable { let cases: [Case] }

    /// Against scipy.ndimage.map_coordinates(order=3, mode="mirror") (scripts/fixtures/make_bspline_fixtures.py):
    /// short lines (exact mirror initialisation) and a 40-sample line (truncated initialisation).
    func testMatchesScipyMapCoordinates() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bspline.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 2)
        for c in fixture.cases {
            let spline = CubicBSpline(c.data, shape: c.shape)
            var worst = 0.0
            for (n, truth) in c.values.enumerated() {
                let p = (c.points[3 * n], c.points[3 * n + 1], c.points[3 * n + 2])
                worst = max(worst, abs(Double(spline.value(at: p)) - truth))
            }
            XCTAssertLessThan(worst, 2e-5, "\(c.shape)")
        }
    }

    /// The spline passes through every sample, so resampling onto the same grid returns the image.
    func testInterpolatesTheSamplesAndResamplesThroughVolume() throws {
        var rng = SeededRandom(seed: 4)
        let shape = [11, 9, 8]
        let data = (0..<shape.reduce(1, *)).map { _ in Float(rng.uniform()) }
        let v = try Volume(shape: shape, affine: .scaling([1.5, 2, 2.5], origin: [3, -4, 5]), data: data)
        let same = try v.resampled(toShape: shape, affine: v.affine, interpolation: .bspline)
        XCTAssertLessThan(zip(same.data, data).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        // Half a voxel outside the grid is filled, as for trilinear.
        let shifted = try v.resampled(toShape: shape, affine: v.affine * Affine.scaling([1, 1, 1], origin: [-1, 0, 0]), interpolation: .bspline, fill: -7)
        XCTAssertEqual(shifted[0, 4, 4], -7)
        XCTAssertLessThan(abs(shifted[1, 4, 4] - v[0, 4, 4]), 1e-5)
    }
}
