import GantryCore
@testable import GantryNN
import XCTest

/// Winograd F(4×4, 3×3) against the direct (per-tap GEMM) convolution: outputs, input gradients
/// (a convolution with the flipped kernel, same path) and weight gradients (dU = Σ (A dY Aᵀ) ⊙ V).
final class WinogradTests: XCTestCase {
    func run(_ x: Tensor, _ w: Tensor, _ b: Tensor, _ p: ConvParameters, winograd: Bool) throws -> (y: [Float], gx: [Float], gw: [Float]) {
        try ConvolutionKernels.with(.init(winograd: winograd)) {
            x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
            let y = try x.conv(w, bias: b, p)
            let r = Tensor(uniform: y.shape, bound: 1, seed: 9, requiresGrad: false)
            (y * r).sum().backward()
            return (y.data, x.grad ?? [], w.grad ?? [])
        }
    }

    func testMatchesDirectConvolution() throws {
        let cases: [(String, [Int], [Int], ConvParameters)] = [
            ("2d padding 1", [2, 16, 37, 41], [24, 16, 3, 3], .uniform(padding: 1, dims: 2)),
            ("2d dilation 2 (CIRIM)", [1, 32, 40, 33], [16, 32, 3, 3], .uniform(padding: 2, dilation: 2, dims: 2)),
            ("2d dilation 3, no padding", [1, 16, 50, 47], [16, 16, 3, 3], .uniform(padding: 0, dilation: 3, dims: 2)),
            ("3d input, 1×3×3 kernel", [1, 16, 3, 34, 35], [20, 16, 1, 3, 3], ConvParameters(padding: [0, 1, 1])),
        ]
        for (name, xs, ws, p) in cases {
            let is3 = xs.count == 5
            let geo = PaddedGeometry(d: is3 ? xs[2] : 1, h: xs[xs.count - 2], w: xs[xs.count - 1], kd: is3 ? ws[2] : 1, kh: 3, kw: 3,
                                     padding: is3 ? p.padding : [0] + p.padding, dilation: is3 ? p.dilation : [1] + p.dilation)
            XCTAssertTrue(ConvolutionBackend.takesWinograd(cin: xs[1], cout: ws[0], groups: 1, geometry: geo), name)
            let x = Tensor(uniform: xs, bound: 1, seed: 1), w = Tensor(uniform: ws, bound: 0.2, seed: 2), b = Tensor(uniform: [ws[0]], bound: 0.5, seed: 3)
            let fast = try run(x, w, b, p, winograd: true), direct = try run(x, w, b, p, winograd: false)
            // F(4×4, 3×3) rounds to ~5e-6 of the output's scale here (direct: ~1e-7); 1e-5 is ten
            // times under the engine's 1e-4 parity bar and fails on any wrong coefficient or tile.
            print("winograd \(name): relative error y \(relativeError(fast.y, direct.y)), dx \(relativeError(fast.gx, direct.gx)), dw \(relativeError(fast.gw, direct.gw))")
            XCTAssertLessThan(relativeError(fast.y, direct.y), 1e-5, "\(name) output")
            XCTAssertLessThan(relativeError(fast.gx, direct.gx), 1e-5, "\(name) input gradient")
            XCTAssertLessThan(relativeError(fast.gw, direct.gw), 1e-5, "\(name) weight gradient")
            XCTAssertNotEqual(fast.y, direct.y, "\(name): the Winograd path did not run")
            XCTAssertNotEqual(fast.gw, direct.gw, "\(name): the Winograd weight gradient did not run")
        }
    }

    /// The transforms themselves: G g Gᵀ of a delta filter, and a single tile by hand.
    func testSingleTileIsTheDirectCorrelation() {
        for tf in [WinogradTransform.f2, .f4] {
            let a = tf.alpha, m = tf.m
            var s = SeededRandom(seed: 4)
            let d = (0..<(a * a)).map { _ in Float(s.uniform(-1, 1)) }, k = (0..<9).map { _ in Float(s.uniform(-1, 1)) }
            let u = k.withUnsafeBufferPointer { tf.filters($0.baseAddress!, cout: 1, cin: 1) }
            // V = Bᵀ d B, M = U ⊙ V, Y = Aᵀ M A.
            func mul(_ p: [Float], _ r: Int, _ c: Int, _ q: [Float], _ c2: Int) -> [Float] {
                (0..<(r * c2)).map { i in (0..<c).reduce(Float(0)) { $0 + p[(i / c2) * c + $1] * q[$1 * c2 + i % c2] } }
            }
            func t(_ p: [Float], _ r: Int, _ c: Int) -> [Float] { (0..<(r * c)).map { i in p[(i % r) * c + i / r] } }
            let v = mul(mul(tf.bt, a, a, d, a), a, a, t(tf.bt, a, a), a)
            let y = mul(mul(tf.at, m, a, zip(u, v).map(*), a), m, a, t(tf.at, m, a), m)
            for i in 0..<m { for j in 0..<m {
                var direct: Float = 0
                for p in 0..<3 { for q in 0..<3 { direct += k[p * 3 + q] * d[(i + p) * a + j + q] } }
                XCTAssertEqual(y[i * m + j], direct, accuracy: 1e-5, "F(\(m)×\(m), 3×3) tile (\(i), \(j))")
            } }
        }
    }
}
