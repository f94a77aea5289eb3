import Foundation
import GantryCore
@testable import GantryRegistration
import XCTest

final class DisplacementFieldCoarseTests: XCTestCase {
    /// A grid with anisotropic spacing and an offset, so geometry mistakes show.
    func grid(_ shape: [Int]) -> Affine { .scaling([2, 1.5, 2.5], origin: [-30, 12, 4]) }

    /// u(x) = B·x + b in world mm, sampled on the grid.
    func linearField(_ shape: [Int], _ affine: Affine, _ b: [[Double]]) -> DisplacementField {
        var f = DisplacementField(shape: shape, affine: affine)
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            let w = affine.apply((Double(i), Double(j), Double(k))), o = i + shape[0] * (j + shape[1] * k)
            for c in 0..<3 { f.u[c][o] = Float(b[c][0] * w.0 + b[c][1] * w.1 + b[c][2] * w.2 + b[c][3]) }
        } } }
        return f
    }

    let b: [[Double]] = [[0.03, -0.01, 0.02, 1.5], [0.01, 0.02, -0.03, -0.7], [-0.02, 0.01, 0.04, 0.3]]

    /// Halving a linear field gives the function at the coarse voxel centres (the mean of two
    /// samples of a line is its value at their midpoint), and doubling it back reproduces the field
    /// wherever linear interpolation is not clamped (every fine voxel but the outermost ones).
    func testHalvingAndDoublingAreExactOnLinearFields() {
        for shape in [[12, 10, 8], [13, 11, 9]] {
            let f = linearField(shape, grid(shape), b)
            let h = f.halved()
            XCTAssertEqual(h.shape, shape.map { ($0 + 1) / 2 })
            let truth = linearField(h.shape, h.affine, b)
            var worst: Float = 0
            for k in 0..<h.shape[2] { for j in 0..<h.shape[1] { for i in 0..<h.shape[0] {
                // the far coarse face of an odd axis holds a single fine voxel, not a pair
                if zip([i, j, k], shape).contains(where: { $0 * 2 + 1 >= $1 }) { continue }
                let o = i + h.shape[0] * (j + h.shape[1] * k)
                for c in 0..<3 { worst = max(worst, abs(h.u[c][o] - truth.u[c][o])) }
            } } }
            XCTAssertLessThan(worst, 1e-4, "halved \(shape)")

            let back = h.doubled(toShape: shape, affine: f.affine)
            XCTAssertEqual(back.affine, f.affine)
            worst = 0
            for k in 1..<(shape[2] - 2) { for j in 1..<(shape[1] - 2) { for i in 1..<(shape[0] - 2) {
                let o = i + shape[0] * (j + shape[1] * k)
                for c in 0..<3 { worst = max(worst, abs(back.u[c][o] - f.u[c][o])) }
            } } }
            XCTAssertLessThan(worst, 1e-4, "doubled \(shape)")
        }
    }
}
