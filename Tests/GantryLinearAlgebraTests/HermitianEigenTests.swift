import GantryLinearAlgebra
import XCTest

final class HermitianEigenTests: XCTestCase {
    func testDecomposesARandomHermitianMatrix() throws {
        let n = 7
        var a = [Float](repeating: 0, count: 2 * n * n)
        var s: UInt64 = 3
        func r() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: s) >> 40) / Float(1 << 23) }
        for i in 0..<n { for j in i..<n {
            let (re, im) = (r(), i == j ? 0 : r())
            a[2 * (i * n + j)] = re; a[2 * (i * n + j) + 1] = im
            a[2 * (j * n + i)] = re; a[2 * (j * n + i) + 1] = -im
        } }
        let (values, vectors) = try HermitianEigen.decompose(a, n: n)
        XCTAssertEqual(values, values.sorted())
        for (k, v) in vectors.enumerated() {
            // A v = λ v, ‖v‖ = 1
            var norm: Float = 0
            for i in 0..<n {
                var re: Float = 0, im: Float = 0
                for j in 0..<n {
                    let (ar, ai, vr, vi) = (a[2 * (i * n + j)], a[2 * (i * n + j) + 1], v[2 * j], v[2 * j + 1])
                    re += ar * vr - ai * vi; im += ar * vi + ai * vr
                }
                XCTAssertEqual(re, values[k] * v[2 * i], accuracy: 1e-4)
                XCTAssertEqual(im, values[k] * v[2 * i + 1], accuracy: 1e-4)
                norm += v[2 * i] * v[2 * i] + v[2 * i + 1] * v[2 * i + 1]
            }
            XCTAssertEqual(norm, 1, accuracy: 1e-4)
        }
    }
}
