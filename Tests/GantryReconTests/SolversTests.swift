import GantryCore
@testable import GantryRecon
import XCTest

/// The proximal maps against their definitions, and the solvers that take them against the
/// least-squares solution where the regulariser vanishes.
final class SolversTests: XCTestCase {
    func testGroupBallProjectionProjectsEachGroupOntoTheBall() {
        var p = GroupBallProjection(radius: 2, groupSize: 4)
        // |(3, 4, 0, 0)| = 5 → radius 2; |(0.5, 0, 0, 0.5)| < 2 stays
        let v: [Float] = [3, 4, 0, 0, 0.5, 0, 0, 0.5]
        let out = p.prox(v, step: 0.7)
        XCTAssertEqual(out[0], 1.2, accuracy: 1e-6); XCTAssertEqual(out[1], 1.6, accuracy: 1e-6)
        XCTAssertEqual(Array(out[4...]), Array(v[4...]))
    }

    func testWaveletThresholdIsSoftThresholdingWithSeededShifts() throws {
        let sparsity = try WaveletSparsity(ny: 16, nx: 16)
        let x = ComplexBuffer.random(256, seed: 3)
        var a = WaveletThreshold(sparsity, lambda: 0.5, seed: 4), b = WaveletThreshold(sparsity, lambda: 0.5, seed: 4)
        XCTAssertEqual(a.prox(x, step: 0.1), b.prox(x, step: 0.1), "same seed, same shifts")
        // a threshold above every coefficient's magnitude leaves nothing
        var all = WaveletThreshold(sparsity, lambda: 1e6)
        XCTAssertEqual(all.prox(x, step: 1).map(abs).max() ?? 1, 0, accuracy: 1e-6)
        // shrinking never grows the energy
        var some = WaveletThreshold(sparsity, lambda: 0.3)
        XCTAssertLessThan(ComplexBuffer.normSquared(some.prox(x, step: 1)), ComplexBuffer.normSquared(x))
    }

    /// With λ = 0 both CS solvers minimise ½‖Ax − y‖² alone: on a fully sampled, well-posed SENSE
    /// problem that is the unique x with AᴴAx = Aᴴy, which CG reaches.
    func testSolversWithoutRegularisationReachLeastSquares() throws {
        let (coils, ny, nx) = (3, 16, 16)
        let maps = try CoilMapsForTest.normalised(coils: coils, ny: ny, nx: nx)
        let op = try SenseOperator(maps: maps, mask: [Float](repeating: 1, count: ny * nx), coils: coils, ny: ny, nx: nx)
        let truth = ComplexBuffer.random(ny * nx, seed: 5), y = try op.forward(truth)
        let cg = try Solvers.cgSENSE(op, data: y, lambda: 0, iterations: 50)
        var none = WaveletThreshold(try WaveletSparsity(ny: ny, nx: nx), lambda: 0)
        let fista = try Solvers.fista(op, data: y, regulariser: &none, iterations: 100)
        var noTV = GroupBallProjection(radius: 0, groupSize: 4)
        let pd = try Solvers.primalDual(op, data: y, analysis: FiniteDifference2D(ny: ny, nx: nx), dual: &noTV, iterations: 300)
        for (name, x) in [("CG", cg), ("FISTA", fista), ("primal–dual", pd)] {
            let err = zip(x, truth).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / truth.map { $0 * $0 }.reduce(0, +)
            XCTAssertLessThan(err, 1e-6, name)
        }
    }
}
