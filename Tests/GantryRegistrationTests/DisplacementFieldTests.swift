import Foundation
import GantryCore
import GantryIO
@testable import GantryRegistration
import XCTest

final class DisplacementFieldTests: XCTestCase {
    /// A smooth velocity field (up to ~6 mm) on an anisotropic, offset grid.
    func smoothVelocity() -> DisplacementField {
        let shape = [40, 36, 32]
        var v = DisplacementField(shape: shape, affine: .scaling([2, 2.2, 2.5], origin: [-40, -30, -20]))
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            let (x, y, z) = (Double(i) / Double(shape[0]), Double(j) / Double(shape[1]), Double(k) / Double(shape[2]))
            let o = i + shape[0] * (j + shape[1] * k)
            v.u[0][o] = Float(6 * sin(2 * .pi * y) * cos(.pi * z))
            v.u[1][o] = Float(5 * sin(2 * .pi * z + 0.5) * cos(.pi * x))
            v.u[2][o] = Float(4 * sin(2 * .pi * x + 1) * sin(.pi * y))
        } } }
        return v
    }

    func meanNorm(_ f: DisplacementField, margin: Int) -> Double {
        var s = 0.0, n = 0
        for k in margin..<(f.shape[2] - margin) { for j in margin..<(f.shape[1] - margin) { for i in margin..<(f.shape[0] - margin) {
            let o = i + f.shape[0] * (j + f.shape[1] * k)
            s += Double((f.u[0][o] * f.u[0][o] + f.u[1][o] * f.u[1][o] + f.u[2][o] * f.u[2][o]).squareRoot()); n += 1
        } } }
        return s / Double(max(n, 1))
    }

    /// The numerical inverse w of φ = exp(v) undoes φ (|w∘φ| over the interior, away from the faces
    /// where reads clamp) at least as well as exp(−v), the inverse log-domain demons uses — which
    /// carries the discretisation of scaling and squaring — and stays close to it.
    func testNumericalInverseUndoesTheFieldAtLeastAsWellAsExpOfMinusV() {
        let v = smoothVelocity()
        var minusV = v
        for c in 0..<3 { minusV.u[c] = v.u[c].map { -$0 } }
        let phi = DisplacementField.exponential(v), expMinus = DisplacementField.exponential(minusV)
        let w = phi.inverted()
        var diff = w
        for c in 0..<3 { diff.u[c] = zip(w.u[c], expMinus.u[c]).map { $0 - $1 } }
        let size = meanNorm(phi, margin: 6), gap = meanNorm(diff, margin: 6)
        let residual = meanNorm(w.composed(after: phi), margin: 6), residualExp = meanNorm(expMinus.composed(after: phi), margin: 6)
        print(String(format: "field inverse: mean |φ| %.2f mm; |w∘φ| %.4f mm (exp(−v)∘φ: %.4f mm); |w − exp(−v)| %.4f mm", size, residual, residualExp, gap))
        XCTAssertGreaterThan(size, 2)
        XCTAssertLessThan(residual, 0.05)
        XCTAssertLessThanOrEqual(residual, residualExp)
        XCTAssertLessThan(gap, 0.2)
    }

    /// The inverse map undoes the forward one: a moving-side point y sent back through
    /// y ↦ z + w(z) (z = A⁻¹y) and forward through x ↦ A(x + u(x)) returns to y; an inverse field
    /// handed in is used as given (the same numbers as inverting on the spot).
    func testInverseMapUndoesTheForwardMap() throws {
        let phi = DisplacementField.exponential(smoothVelocity())
        let a = AffineTransform(parameters: [3, -2, 4, 0.05, -0.03, 0.04, 0.02, -0.01, 0.03, 0.01, 0, 0.02], centre: [0, 5, 10]).matrix
        let computed = RegistrationResult(affine: a, field: phi, inverseField: nil, seconds: 0)
        let given = RegistrationResult(affine: a, field: phi, inverseField: phi.inverted(), seconds: 0)
        let forward = computed.forwardMap(), back = try computed.inverseMap(), backGiven = try given.inverseMap()
        var worst = 0.0, moved = 0.0
        var rng = SeededRandom(seed: 8)
        for _ in 0..<200 {
            // points well inside the field's grid (world −28…28, −18…36, −5…45 mm)
            let x = (rng.uniform(-28, 28), rng.uniform(-18, 36), rng.uniform(-5, 45))
            let y = forward(x), r = forward(back(y))
            worst = max(worst, ((r.0 - y.0) * (r.0 - y.0) + (r.1 - y.1) * (r.1 - y.1) + (r.2 - y.2) * (r.2 - y.2)).squareRoot())
            moved = max(moved, ((y.0 - x.0) * (y.0 - x.0) + (y.1 - x.1) * (y.1 - x.1) + (y.2 - x.2) * (y.2 - x.2)).squareRoot())
            let (b1, b2) = (back(y), backGiven(y))
            XCTAssertEqual(b1.0, b2.0); XCTAssertEqual(b1.1, b2.1); XCTAssertEqual(b1.2, b2.2)
        }
        print(String(format: "inverse map round trip: worst %.4f mm (points moved up to %.1f mm)", worst, moved))
        XCTAssertGreaterThan(moved, 5)
        XCTAssertLessThan(worst, 0.05)
    }

    /// A transform file that is not a [x, y, z, 3] field is refused with the file's name.
    func testLoadTransformRefusesAFieldOfTheWrongShape() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v = try Volume(shape: [4, 4, 4], affine: .identity, data: [Float](repeating: 0, count: 64))
        try NIfTI.write(v, to: dir + "/f.nii", options: .init(datatype: .float32))
        XCTAssertThrowsError(try RegistrationJob.loadTransform(affine: nil, field: dir + "/f.nii", inverseField: nil)) { error in
            XCTAssertTrue("\(error)".contains("f.nii"), "\(error)")
        }
    }
}
