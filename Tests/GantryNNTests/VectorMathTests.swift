import Foundation
@testable import GantryNN
import XCTest

/// The vector exp, sigmoid and tanh against Double-precision Foundation over their whole range:
/// a dense grid, the polynomial/formula switch of tanh, tiny and huge arguments, NaN, and a
/// partial last group through `load`/`store`.
final class VectorMathTests: XCTestCase {
    typealias V = VectorMath.V

    /// max over `xs` of |f(x) − ref(x)| / max(|ref(x)|, floor)
    func maxError(_ xs: [Float], _ f: (V) -> V, _ ref: (Double) -> Double, floor: Double) -> (Double, Float) {
        var worst = 0.0, at: Float = 0
        for i in stride(from: 0, to: xs.count, by: V.scalarCount) {
            let k = min(V.scalarCount, xs.count - i)
            let y = xs.withUnsafeBufferPointer { f(VectorMath.load($0.baseAddress! + i, count: k)) }
            for j in 0..<k {
                let r = ref(Double(xs[i + j])), e = abs(Double(y[j]) - r) / max(abs(r), floor)
                if e > worst { worst = e; at = xs[i + j] }
            }
        }
        return (worst, at)
    }

    func testAgainstDoublePrecision() {
        var grid = stride(from: Float(-87), through: 88, by: 0.000_97).map { $0 }
        grid += [0, -0.0, 1e-30, -1e-30, 1e-8, 0.249_999_98, 0.25, -0.25, 0.250_000_03, 88.3, -87.3, 0.5, -1]
        let e = maxError(grid, VectorMath.exp, Foundation.exp, floor: 0)
        print("exp: max relative error \(e.0) at \(e.1)")
        XCTAssertLessThan(e.0, 2 * Double(Float.ulpOfOne), "exp")  // 2 ulp at the top of a binade
        let t = grid.filter { abs($0) <= 20 } + [1e-6, -1e-6, 1e-3, 0.24, 0.26, 9, 44, -44]
        let th = maxError(t, VectorMath.tanh, Foundation.tanh, floor: 1e-3)
        print("tanh: max error \(th.0) (relative, absolute below |tanh| 1e-3) at \(th.1)")
        XCTAssertLessThan(th.0, 3e-7, "tanh")
        let s = maxError(grid, VectorMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, floor: 1e-30)
        print("sigmoid: max relative error \(s.0) at \(s.1)")
        XCTAssertLessThan(s.0, 3e-7, "sigmoid")
        // far outside the range: saturated, finite
        let far = VectorMath.tanh(V(repeating: 1e6)), neg = VectorMath.sigmoid(V(repeating: -1e6))
        XCTAssertEqual(far[0], 1); XCTAssertEqual(neg[0], 0, accuracy: 1e-37)
        XCTAssertTrue(VectorMath.exp(V(repeating: .nan))[3].isNaN)
    }

    func testPartialGroupLoadsAndStores() {
        let src: [Float] = (0..<5).map { Float($0) + 0.5 }
        var dst = [Float](repeating: -7, count: 8)
        src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { d in
            VectorMath.store(VectorMath.load(s.baseAddress!, count: 5) * 2, to: d.baseAddress!, count: 5)
        } }
        XCTAssertEqual(dst, [1, 3, 5, 7, 9, -7, -7, -7])
    }
}
