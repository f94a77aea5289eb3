import GantryCore
import XCTest

/// Reorientation, crop/pad and resampling keep every voxel at its world position.
final class VolumeGeometryTests: XCTestCase {
    func ramp(_ shape: [Int], affine: Affine) throws -> Volume {
        try Volume(shape: shape, affine: affine, data: (0..<shape.reduce(1, *)).map { Float($0) })
    }

    func world(_ v: Volume, _ i: Int, _ j: Int, _ k: Int) -> (Double, Double, Double) {
        v.affine.apply((Double(i), Double(j), Double(k)))
    }

    func testReorientLPSAndPermutedToRAS() throws {
        let affines = [
            Affine(rows: [[-0.9, 0, 0, 10], [0, -0.8, 0, 12], [0, 0, 2.5, -5], [0, 0, 0, 1]]),       // LPS
            Affine(rows: [[0, 1, 0, 0], [0, 0, -1.5, 7], [-2, 0, 0, 3], [0, 0, 0, 1]]),              // IRP
        ]
        for a in affines {
            let v = try ramp([4, 5, 6], affine: a)
            let r = try v.reorientedToRAS()
            XCTAssertEqual(r.orientation, "RAS")
            XCTAssertEqual(r.count, v.count)
            // every voxel value sits at the same world point
            let inv = try XCTUnwrap(r.affine.inverse)
            for k in 0..<6 { for j in 0..<5 { for i in 0..<4 {
                let w = world(v, i, j, k)
                let p = inv.apply(w)
                let (ri, rj, rk) = (Int(p.0.rounded()), Int(p.1.rounded()), Int(p.2.rounded()))
                XCTAssertEqual(abs(p.0 - Double(ri)) + abs(p.1 - Double(rj)) + abs(p.2 - Double(rk)), 0, accuracy: 1e-9)
                XCTAssertEqual(r[ri, rj, rk], v[i, j, k])
            } } }
        }
    }

    func testReorientKeepsFrames() throws {
        let v = try Volume(shape: [2, 3, 4, 2], affine: .scaling([-1, 1, 1]), data: (0..<48).map(Float.init))
        let r = try v.reorientedToRAS()
        XCTAssertEqual(r.shape, [2, 3, 4, 2])
        // frame 1, voxel (0,0,0) of RAS is old (1,0,0) of frame 1
        XCTAssertEqual(r.data[24], v.data[24 + 1])
    }

    func testCropThenPadRestoresInside() throws {
        let a = Affine(rows: [[0.9, -0.3, 0.1, 10], [0.35, 1.1, -0.2, -5], [0.05, 0.25, 2.1, 3], [0, 0, 0, 1]])
        let v = try ramp([6, 7, 8], affine: a)
        let c = try v.cropped(lower: [1, 2, 3], upper: [5, 6, 7])
        XCTAssertEqual(c.shape, [4, 4, 4])
        XCTAssertEqual(c[0, 0, 0], v[1, 2, 3])
        let w0 = world(c, 0, 0, 0), w1 = world(v, 1, 2, 3)
        XCTAssertEqual(w0.0, w1.0, accuracy: 1e-12); XCTAssertEqual(w0.1, w1.1, accuracy: 1e-12); XCTAssertEqual(w0.2, w1.2, accuracy: 1e-12)
        let p = try c.padded(before: [1, 2, 3], after: [1, 1, 1], value: -1)
        XCTAssertEqual(p.shape, [6, 7, 8])
        XCTAssertLessThan(p.affine.maxDifference(v.affine), 1e-12)
        XCTAssertEqual(p[3, 4, 5], v[3, 4, 5])
        XCTAssertEqual(p[0, 0, 0], -1)
        XCTAssertThrowsError(try v.cropped(lower: [0, 0, 0], upper: [7, 1, 1]))
    }

    func testResampleOntoSameGridIsIdentity() throws {
        let v = try ramp([5, 6, 7], affine: .scaling([1.5, 1.5, 2], origin: [3, 4, 5]))
        for interp in Interpolation.allCases {
            let r = try v.resampled(toShape: v.shape, affine: v.affine, interpolation: interp)
            if interp == .bspline {
                // the spline passes through the samples up to Float rounding of its coefficients
                XCTAssertLessThan(zip(r.data, v.data).map { abs($0 - $1) }.max() ?? 1, 1e-4)
            } else {
                XCTAssertEqual(r.data, v.data, "\(interp)")
            }
        }
    }

    func testTrilinearReproducesALinearFunction() throws {
        // f(world) = 2x - y + 0.5z + 3 is reproduced exactly by trilinear interpolation.
        let a = Affine(rows: [[1.2, 0.1, 0, -5], [-0.1, 1.1, 0.05, 2], [0, 0.02, 1.5, 1], [0, 0, 0, 1]])
        var v = try Volume(shape: [10, 11, 12], affine: a, filledWith: 0)
        for k in 0..<12 { for j in 0..<11 { for i in 0..<10 {
            let w = a.apply((Double(i), Double(j), Double(k)))
            v[i, j, k] = Float(2 * w.0 - w.1 + 0.5 * w.2 + 3)
        } } }
        // target: a rotated, finer grid inside the source field of view
        let t = Affine(rows: [[0.7, -0.2, 0, -2], [0.2, 0.7, 0, 5], [0, 0, 0.8, 4], [0, 0, 0, 1]])
        let r = try v.resampled(toShape: [8, 8, 10], affine: t)
        var checked = 0
        let inv = try XCTUnwrap(a.inverse)
        for k in 0..<10 { for j in 0..<8 { for i in 0..<8 {
            let w = t.apply((Double(i), Double(j), Double(k)))
            let s = inv.apply(w)
            guard s.0 >= 0, s.1 >= 0, s.2 >= 0, s.0 <= 9, s.1 <= 10, s.2 <= 11 else { continue }
            XCTAssertEqual(Double(r[i, j, k]), 2 * w.0 - w.1 + 0.5 * w.2 + 3, accuracy: 1e-3)
            checked += 1
        } } }
        XCTAssertGreaterThan(checked, 300)
    }

    func testNearestKeepsLabelValues() throws {
        let labels = try Volume(shape: [8, 8, 8], affine: .identity, data: (0..<512).map { Float($0 % 4) })
        let r = try labels.resampled(toSpacing: [0.5, 0.5, 0.5], interpolation: .nearest)
        XCTAssertEqual(r.shape, [16, 16, 16])
        XCTAssertTrue(Set(r.data).isSubset(of: [0, 1, 2, 3]))
        XCTAssertEqual(r.spacing, [0.5, 0.5, 0.5])
        // field of view kept: corner of voxel 0 (−0.5 voxel) is the same world point
        let c0 = labels.affine.apply((-0.5, -0.5, -0.5)), c1 = r.affine.apply((-0.5, -0.5, -0.5))
        XCTAssertEqual(c0.0, c1.0, accuracy: 1e-12)
    }

    func testShapeErrors() {
        XCTAssertThrowsError(try Volume(shape: [2, 2], data: [1, 2, 3]))
        XCTAssertThrowsError(try Volume(shape: [0, 2, 2], data: []))
        XCTAssertThrowsError(try Volume.count(of: [Int.max, 2]))
    }
}
