import GantryCore
import GantryPhantoms
@testable import GantryRecon
import XCTest

/// Adjoint (dot) tests for every operator, wavelet orthonormality, masks as asked.
final class OperatorTests: XCTestCase {
    func testSenseOperatorDotTest() throws {
        let (coils, ny, nx) = (4, 12, 10)
        let maps = ComplexBuffer.random(coils * ny * nx, seed: 3)
        let mask = try SamplingMask(kind: .random, acceleration: 2, centerFraction: 0.2, seed: 1).make(ny: ny, nx: nx)
        let op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        XCTAssertLessThan(try op.dotTest(seed: 5), 1e-5)
        // single-coil Fourier sampling
        let single = try SenseOperator(maps: (0..<(ny * nx)).flatMap { _ in [Float(1), 0] }, mask: mask, coils: 1, ny: ny, nx: nx)
        XCTAssertLessThan(try single.dotTest(seed: 9), 1e-5)
        // with Σ|S|² = 1 and a full mask, AᴴA = I: largest eigenvalue 1
        let sim = try CoilMapsForTest.normalised(coils: coils, ny: ny, nx: nx)
        let full = try SenseOperator(maps: sim, mask: [Float](repeating: 1, count: ny * nx), coils: coils, ny: ny, nx: nx)
        XCTAssertEqual(try full.maxEigenvalue(), 1, accuracy: 1e-4)
    }

    /// The SENSE operator is the chain M ∘ F ∘ S of its parts: each part passes the dot test, the
    /// chain equals applying them one by one, and parts that do not chain are refused.
    func testSenseIsTheChainOfItsParts() throws {
        let (coils, ny, nx) = (3, 10, 12)
        let maps = ComplexBuffer.random(coils * ny * nx, seed: 11)
        let mask = try SamplingMask(kind: .equispaced, acceleration: 2, centerFraction: 0.2, seed: 0).make(ny: ny, nx: nx)
        let s = try CoilSensitivityOperator(maps: maps, coils: coils, ny: ny, nx: nx)
        let f = try FourierOperator(ny: ny, nx: nx, coils: coils)
        let m = try SamplingOperator(mask: mask, coils: coils, ny: ny, nx: nx)
        for (name, op) in [("S", s as any LinearOperator), ("F", f), ("M", m)] { XCTAssertLessThan(try op.dotTest(seed: 2), 1e-5, name) }
        XCTAssertEqual(try f.maxEigenvalue(), try XCTUnwrap(f.normSquaredBound), accuracy: 1e-4, "F is unitary")
        let x = ComplexBuffer.random(ny * nx, seed: 12), y = ComplexBuffer.random(coils * ny * nx, seed: 13)
        let sense = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        XCTAssertEqual(try sense.forward(x), try m.forward(f.forward(s.forward(x))))
        XCTAssertEqual(try sense.adjoint(y), try s.adjoint(f.adjoint(m.adjoint(y))))
        let chain = try m * f * s
        XCTAssertEqual(chain.operators.count, 3)
        XCTAssertEqual(try chain.forward(x), try sense.forward(x))
        XCTAssertThrowsError(try s * m, "S takes an image, M gives k-space of every coil")
        XCTAssertThrowsError(try ComposedOperator(applying: []))
    }

    /// The fused data-term gradient Aᴴ(Ax − y) equals the chain's, for even sizes (checkerboards
    /// folded in, coils split between threads) with most columns sampled (2D transforms) or few
    /// (rows, then the sampled columns only), a weighted mask, and odd sizes (the chain itself).
    func testResidualGradientIsTheChainsGradient() throws {
        for (coils, ny, nx, r, pruned) in [(5, 12, 10, 1.0, false), (1, 16, 8, 1.0, false), (4, 14, 32, 4.0, true), (3, 20, 16, 6.0, true),
                                           (3, 9, 10, 2.0, false), (2, 10, 7, 2.0, false)] {
            let maps = ComplexBuffer.random(coils * ny * nx, seed: 21)
            var mask = try SamplingMask(kind: .random, acceleration: r, centerFraction: 0.1, seed: 1).make(ny: ny, nx: nx)
            mask[3] = 0.5
            let op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
            XCTAssertEqual(2 * op.sampledColumns.count <= nx && nx % 2 == 0 && ny % 2 == 0, pruned, "\(ny)×\(nx) at \(r)×: the path meant")
            let x = ComplexBuffer.random(ny * nx, seed: 22), y = ComplexBuffer.random(coils * ny * nx, seed: 23)
            var r = try op.forward(x)
            for i in 0..<r.count { r[i] -= y[i] }
            let chain = try op.adjoint(r), fused = try op.residualGradient(x, measured: y)
            let err = zip(chain, fused).map { abs($0 - $1) }.max() ?? 0, scale = chain.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 0.1)
            XCTAssertLessThan(err / scale, 1e-5, "\(coils) coils \(ny)×\(nx)")
            // AᴴA (the RIM's backward pass, CG's normal equations) by the same fused path.
            let normal = try op.normal(x), normalChain = try op.adjoint(op.forward(x))
            let nErr = zip(normal, normalChain).map { abs($0 - $1) }.max() ?? 0, nScale = normalChain.map(abs).max() ?? 0
            XCTAssertGreaterThan(nScale, 0.1)
            XCTAssertLessThan(nErr / nScale, 1e-5, "AᴴA, \(coils) coils \(ny)×\(nx)")
        }
        let op = try SenseOperator(maps: ComplexBuffer.random(4, seed: 1), mask: [1, 1, 1, 1], coils: 1, ny: 2, nx: 2)
        XCTAssertThrowsError(try op.residualGradient([0, 0], measured: [Float](repeating: 0, count: 8)))
    }

    func testFiniteDifferenceDotTestAndNorm() throws {
        let d = FiniteDifference2D(ny: 9, nx: 7)
        XCTAssertLessThan(try d.dotTest(seed: 4), 1e-5)
        XCTAssertLessThanOrEqual(try d.maxEigenvalue(iterations: 100), try XCTUnwrap(d.normSquaredBound) + 1e-4)   // the bound the TV step sizes use
        // a constant image has zero gradient
        XCTAssertEqual(try d.forward([Float](repeating: 1, count: 2 * 63)).map(abs).max(), 0)
    }

    func testWaveletIsOrthonormalAndInvertible() throws {
        let w = try Wavelet2D(ny: 16, nx: 24, levels: 3)
        let x = ComplexBuffer.random(16 * 24, seed: 2)
        var y = x
        w.forward(&y)
        XCTAssertEqual(ComplexBuffer.normSquared(y), ComplexBuffer.normSquared(x), accuracy: 1e-3 * ComplexBuffer.normSquared(x))
        // ⟨Wx, z⟩ = ⟨x, Wᵀz⟩ (inverse is the adjoint)
        let z = ComplexBuffer.random(16 * 24, seed: 4)
        var wz = z
        w.inverse(&wz)
        let l = ComplexBuffer.dot(y, z), r = ComplexBuffer.dot(x, wz)
        XCTAssertEqual(l.re, r.re, accuracy: 1e-3); XCTAssertEqual(l.im, r.im, accuracy: 1e-3)
        w.inverse(&y)
        for i in 0..<x.count { XCTAssertEqual(y[i], x[i], accuracy: 1e-5) }
        // a constant image has no detail coefficients
        var c = [Float](repeating: 0, count: 2 * 16 * 24)
        for i in 0..<(16 * 24) { c[2 * i] = 2 }
        w.forward(&c)
        for yy in 0..<16 { for xx in 0..<24 where yy >= 2 || xx >= 3 { XCTAssertEqual(c[2 * (yy * 24 + xx)], 0, accuracy: 1e-5) } }
        XCTAssertThrowsError(try Wavelet2D(ny: 10, nx: 16, levels: 2))
    }

    func testZeroThresholdProxIsIdentity() throws {
        let s = try WaveletSparsity(ny: 13, nx: 11)
        let x = ComplexBuffer.random(13 * 11, seed: 8)
        let y = s.prox(x, threshold: 0, shift: (3, 5))
        for i in 0..<x.count { XCTAssertEqual(y[i], x[i], accuracy: 1e-5) }
    }

    func testMasksHaveTheAskedAccelerationAndCentre() throws {
        let (ny, nx) = (96, 128)
        for kind in MaskKind.allCases {
            for r in [4.0, 8.0] {
                let m = try SamplingMask(kind: kind, acceleration: r, centerFraction: 0.08, seed: 3).make(ny: ny, nx: nx)
                if kind == .random {
                    // fastMRI's random mask hits R on average: check the mean over many seeds.
                    var total = 0.0
                    for seed in 0..<200 { total += Double(try SamplingMask(kind: kind, acceleration: r, centerFraction: 0.08, seed: UInt64(seed)).make(ny: 2, nx: nx).reduce(0, +)) / 2 }
                    XCTAssertEqual(Double(nx) / (total / 200), r, accuracy: r * 0.03, "random R=\(r)")
                } else {
                    let achieved = Double(ny * nx) / Double(m.reduce(0, +))
                    XCTAssertEqual(achieved, r, accuracy: r * 0.06, "\(kind) R=\(r) got \(achieved)")
                }
                // centre fully sampled
                XCTAssertEqual(m[(ny / 2) * nx + nx / 2], 1, "\(kind)")
                let width = CoilSensitivity.calibrationWidth(mask: m, ny: ny, nx: nx)
                XCTAssertGreaterThanOrEqual(width, Int(0.08 * Double(nx)) - 2, "\(kind)")
                // deterministic by seed
                XCTAssertEqual(m, try SamplingMask(kind: kind, acceleration: r, centerFraction: 0.08, seed: 3).make(ny: ny, nx: nx))
            }
        }
        // 1D masks are whole columns
        let m = try SamplingMask(kind: .equispaced, acceleration: 4, seed: 1).make(ny: 8, nx: 32)
        for x in 0..<32 { XCTAssertTrue((0..<8).allSatisfy { m[$0 * 32 + x] == m[x] }) }
        XCTAssertThrowsError(try SamplingMask(acceleration: 0.5).make(ny: 8, nx: 8))
    }
}

enum CoilMapsForTest {
    /// Smooth maps normalised so Σ|S|² = 1 (from the phantom coil simulation).
    static func normalised(coils: Int, ny: Int, nx: Int) throws -> [Float] {
        CoilSimulation(coils: coils).sensitivities(ny: ny, nx: nx)
    }
}
