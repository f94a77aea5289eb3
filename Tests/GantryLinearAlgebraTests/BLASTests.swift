import GantryLinearAlgebra
import XCTest

final class BLASTests: XCTestCase {
    func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]) }
            c[i * n + j] = s
        } }
        return c
    }

    func testSgemmMatchesNaiveProductAllTransposes() throws {
        let (m, n, k) = (7, 5, 9)
        let a = (0..<(m * k)).map { Float(($0 * 37) % 11) - 5 }
        let b = (0..<(k * n)).map { Float(($0 * 13) % 7) - 3 }
        for ta in [false, true] { for tb in [false, true] {
            let c = try BLAS.matmul(a, b, m: m, n: n, k: k, transA: ta, transB: tb)
            XCTAssertEqual(c, naive(a, b, m: m, n: n, k: k, ta: ta, tb: tb), "ta=\(ta) tb=\(tb)")
        } }
        XCTAssertThrowsError(try BLAS.matmul(a, b, m: m + 1, n: n, k: k))
    }
}
