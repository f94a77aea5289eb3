import Foundation
import GantryCore
@testable import GantryNN
import XCTest

/// exp, sigmoid and tanh against Double-precision Foundation over their whole range: a dense grid,
/// the polynomial/formula switch of tanh, tiny and huge arguments, NaN; and the same values from a
/// loop the compiler vectorises as from one value at a time.
final class VectorMathTests: XCTestCase {
    /// max over `xs` of |f(x) − ref(x)| / max(|ref(x)|, floor)
    func maxError(_ xs: [Float], _ f: (Float) -> Float, _ ref: (Double) -> Double, floor: Double) -> (Double, Float) {
        var worst = 0.0, at: Float = 0
        for x in xs {
            let r = ref(Double(x)), e = abs(Double(f(x)) - r) / max(abs(r), floor)
            if e > worst { worst = e; at = x }
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
        XCTAssertEqual(VectorMath.tanh(1e6), 1); XCTAssertEqual(VectorMath.sigmoid(-1e6), 0, accuracy: 1e-37)
        XCTAssertTrue(VectorMath.exp(.nan).isNaN)
    }

    /// A gated row (vectorised loop) gives exactly the formulas applied one value at a time,
    /// tail included (a count that is not a multiple of the vector width).
    func testVectorisedRowIsTheScalarFormula() {
        let count = 1003
        var rng = SeededRandom(seed: 4)
        let parts = (0..<7).map { _ in (0..<count).map { _ in Float(rng.uniform() * 16 - 8) } }
        var out = [Float](repeating: 0, count: count), s = out, z = out, c = out
        parts[0].withUnsafeBufferPointer { a in parts[1].withUnsafeBufferPointer { b in parts[2].withUnsafeBufferPointer { d in
        parts[3].withUnsafeBufferPointer { e in parts[4].withUnsafeBufferPointer { f in parts[5].withUnsafeBufferPointer { g in
        parts[6].withUnsafeBufferPointer { h in out.withUnsafeMutableBufferPointer { o in
        s.withUnsafeMutableBufferPointer { sp in z.withUnsafeMutableBufferPointer { zp in c.withUnsafeMutableBufferPointer { cp in
            Tensor.gatedRow(gate: (a.baseAddress!, b.baseAddress!), update: (d.baseAddress!, e.baseAddress!), candidate: (f.baseAddress!, g.baseAddress!),
                            hidden: h.baseAddress!, into: o.baseAddress!, saving: (sp.baseAddress!, zp.baseAddress!, cp.baseAddress!), count: count)
        } } } } } } } } } } }
        for i in 0..<count {
            let si = VectorMath.sigmoid(parts[0][i] + parts[1][i]), zi = VectorMath.sigmoid(parts[2][i] + parts[3][i])
            let ci = VectorMath.tanh(parts[4][i] + si * parts[5][i])
            XCTAssertEqual([s[i], z[i], c[i], out[i]], [si, zi, ci, ci + zi * (parts[6][i] - ci)], "value \(i)")
        }
    }
}
