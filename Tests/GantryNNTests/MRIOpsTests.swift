import XCTest
import GantryCore
@testable import GantryNN

/// The ops recurrent MRI networks add: replication padding, complex magnitude, max-normalisation.
final class MRIOpsTests: XCTestCase {
    func testReplicationPadCopiesEdgesAndMatchesFiniteDifferences() throws {
        let x = Tensor(uniform: [1, 2, 3, 4], bound: 1, seed: 1)
        let y = try x.replicationPad2d(2)
        XCTAssertEqual(y.shape, [1, 2, 7, 8])
        // corners repeat the corner pixel, edges the edge row/column (PyTorch ReplicationPad2d)
        XCTAssertEqual(y.data[0], x.data[0])
        XCTAssertEqual(y.data[6 * 8 + 7], x.data[2 * 4 + 3])
        XCTAssertEqual(y.data[3 * 8 + 0], x.data[1 * 4 + 0])
        XCTAssertEqual(y.data[56 + 2 * 8 + 2], x.data[12])  // second channel, first interior pixel
        let r = Tensor(uniform: [1, 2, 7, 8], bound: 1, seed: 2, requiresGrad: false)
        XCTAssertLessThan(try GradientCheck.check(x) { try (x.replicationPad2d(2) * r).sum() }, 1e-3)
    }

    func testComplexMagnitudeAndMaxNormalisationGradients() throws {
        let z = Tensor(uniform: [2, 2, 3, 3], bound: 1, seed: 3)
        let m = try z.complexMagnitude()
        XCTAssertEqual(m.data[4], (z.data[4] * z.data[4] + z.data[13] * z.data[13]).squareRoot(), accuracy: 1e-6)
        let r = Tensor(uniform: [2, 1, 3, 3], bound: 1, seed: 4, requiresGrad: false)
        XCTAssertLessThan(try GradientCheck.check(z, eps: 1e-3) { try (z.complexMagnitude() * r).sum() }, 2e-2)
        let x = Tensor(uniform: [1, 1, 4, 4], bound: 1, seed: 5)
        x.data = x.data.map { $0 + 2 }
        let n = try x.dividedByMax()
        XCTAssertEqual(n.data.max()!, 1, accuracy: 1e-7)
        let r2 = Tensor(uniform: [1, 1, 4, 4], bound: 1, seed: 6, requiresGrad: false)
        // the gradient through the maximum matters: without it this check fails
        XCTAssertLessThan(try GradientCheck.check(x, eps: 1e-3) { try (x.dividedByMax() * r2).sum() }, 1e-2)
    }

    func testOrthogonalInitialiserGivesOrthonormalRowsOrColumns() {
        for (rows, cols) in [(3, 5), (6, 2)] {
            var g = SeededRandom(seed: 9)
            let m = Initialiser.orthogonal(rows: rows, cols: cols)(&g, rows * cols)
            let wide = rows <= cols
            let (k, len) = wide ? (rows, cols) : (cols, rows)
            func v(_ i: Int, _ j: Int) -> Float { wide ? m[i * cols + j] : m[j * cols + i] }
            for a in 0..<k { for b in 0..<k {
                let d = (0..<len).reduce(Float(0)) { $0 + v(a, $1) * v(b, $1) }
                XCTAssertEqual(d, a == b ? 1 : 0, accuracy: 1e-5)
            } }
        }
    }
}
