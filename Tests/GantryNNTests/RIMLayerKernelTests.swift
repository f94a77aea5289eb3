import GantryCore
@testable import GantryNN
import XCTest

/// The kernels a RIM's layers run without a graph — the tap-plane GEMM, replication padding and
/// ReLU inside the convolution, IndRNN's fused step — against the ops they stand for.
final class RIMLayerKernelTests: XCTestCase {
    /// Tap planes against the direct definition (every other kernel off): outputs and the input
    /// gradient (a convolution with the flipped kernel, which takes other kernels).
    func testTapPlanesMatchTheDefinition() throws {
        let cases: [(String, [Int], [Int], ConvParameters)] = [
            ("3×3 64 → 2, padding 1 (a RIM's last layer)", [2, 64, 23, 29], [2, 64, 3, 3], .uniform(padding: 1, dims: 2)),
            ("3×3 16 → 3, dilation 2, padding 2", [1, 16, 31, 17], [3, 16, 3, 3], .uniform(padding: 2, dilation: 2, dims: 2)),
            ("5×5 20 → 1, no padding", [1, 20, 12, 40], [1, 20, 5, 5], .uniform(dims: 2)),
            ("1×3 32 → 4, padding 0 × 3 (taller than the halo)", [1, 32, 5, 9], [4, 32, 1, 3], ConvParameters(padding: [0, 3])),
            ("3D input, 1×3×3 kernel", [1, 16, 3, 14, 15], [2, 16, 1, 3, 3], ConvParameters(padding: [0, 1, 1])),
        ]
        for (name, xs, ws, p) in cases {
            let x = Tensor(uniform: xs, bound: 1, seed: 1), w = Tensor(uniform: ws, bound: 0.2, seed: 2), b = Tensor(uniform: [ws[0]], bound: 0.5, seed: 3)
            let lifted = try LiftedConv("test", input: xs, weight: ws, p)
            let geo = PaddedGeometry(d: lifted.input[2], h: lifted.input[3], w: lifted.input[4], kd: lifted.weight[2], kh: lifted.weight[3], kw: lifted.weight[4],
                                     padding: lifted.padding, dilation: lifted.dilation)
            XCTAssertTrue(ConvolutionBackend.takesTapPlanes(cin: xs[1], cout: ws[0], groups: 1, geometry: geo), name)
            func run(_ kernels: ConvolutionKernels) throws -> (y: [Float], gx: [Float], gw: [Float]) {
                try ConvolutionKernels.with(kernels) {
                    x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
                    let y = try x.conv(w, bias: b, p)
                    (y * Tensor(uniform: y.shape, bound: 1, seed: 9, requiresGrad: false)).sum().backward()
                    return (y.data, x.grad ?? [], w.grad ?? [])
                }
            }
            let fast = try run(.init()), reference = try run(.init(winograd: false, direct: false, tapPlanes: false))
            XCTAssertLessThan(relativeError(fast.y, reference.y), 1e-6, "\(name) output")
            XCTAssertLessThan(relativeError(fast.gx, reference.gx), 1e-6, "\(name) input gradient")
            XCTAssertLessThan(relativeError(fast.gw, reference.gw), 1e-6, "\(name) weight gradient")
        }
    }

    /// Without a graph, `replicationPaddedConv` gives the values of padding, convolution and ReLU
    /// one after another, whichever kernel takes the layer — exactly, except through tap planes,
    /// whose GEMM runs on the unpadded rows (another width, so other GEMM blocks: rounding only);
    /// with a graph it is those ops.
    func testReplicationPaddedConvIsPadConvReLU() throws {
        let cases: [(String, [Int], [Int], Int, Int, Bool, Bool)] = [
            ("Winograd, 3×3 d2 16 → 16 + ReLU", [2, 16, 37, 30], [16, 16, 3, 3], 2, 2, true, true),
            ("Winograd, 3×3 16 → 24, no ReLU", [1, 16, 33, 35], [24, 16, 3, 3], 1, 1, false, true),
            ("tap planes, 3×3 32 → 2", [2, 32, 21, 26], [2, 32, 3, 3], 1, 1, false, false),
            ("tap planes, 3×3 d2 16 → 3 + ReLU", [1, 16, 9, 30], [3, 16, 3, 3], 2, 2, true, false),
            ("tap planes, padding wider than the kernel's reach", [1, 16, 4, 200], [2, 16, 3, 3], 40, 1, false, false),
            ("per-tap GEMMs, 5×5 4 → 40 + ReLU", [1, 4, 26, 27], [40, 4, 5, 5], 2, 1, true, true),
            ("direct rows (not fused), 3×3 8 → 8", [1, 8, 19, 20], [8, 8, 3, 3], 1, 1, true, true),
        ]
        for (name, xs, ws, pad, dil, relu, exact) in cases {
            let x = Tensor(uniform: xs, bound: 1, seed: 4), w = Tensor(uniform: ws, bound: 0.3, seed: 5), b = Tensor(uniform: [ws[0]], bound: 0.5, seed: 6)
            func reference() throws -> Tensor {
                let y = try x.replicationPad2d(pad).conv(w, bias: b, .uniform(dilation: dil, dims: 2))
                return relu ? y.relu() : y
            }
            let expected = try Tensor.noGrad { try reference() }
            let fused = try Tensor.noGrad { try x.replicationPaddedConv(w, bias: b, padding: pad, dilation: dil, relu: relu) }
            XCTAssertEqual(fused.shape, expected.shape, name)
            let error = relativeError(fused.data, expected.data)
            if exact {
                XCTAssertTrue(fused.data == expected.data, "\(name): values differ from pad → conv → ReLU (relative error \(error))")
            } else {
                XCTAssertLessThan(error, 1e-6, "\(name): values differ from pad → conv → ReLU")
            }
            if relu { XCTAssertTrue(fused.data.contains(0) && fused.data.contains { $0 > 0 }, "\(name): the ReLU had nothing to do") }
            // With a graph: the same values and the gradients of the three ops.
            let r = Tensor(uniform: expected.shape, bound: 1, seed: 7, requiresGrad: false)
            x.zeroGrad(); w.zeroGrad()
            let recorded = try x.replicationPaddedConv(w, bias: b, padding: pad, dilation: dil, relu: relu)
            (recorded * r).sum().backward()
            let (gx, gw) = (x.grad ?? [], w.grad ?? [])
            x.zeroGrad(); w.zeroGrad()
            (try reference() * r).sum().backward()
            XCTAssertTrue(recorded.data == (try Tensor.noGrad { try reference() }).data, name)
            XCTAssertTrue(gx == x.grad ?? [], "\(name) input gradient")
            XCTAssertTrue(gw == w.grad ?? [], "\(name) weight gradient")
        }
    }

    /// A first layer's weight gradient (few input channels, more output channels than the direct
    /// runs take) by stacked taps, against the sum that defines it.
    func testStackedWeightGradientIsTheDefinition() throws {
        let (cin, cout, h, w, k, p) = (4, 40, 9, 11, 5, 2)
        let x = Tensor(uniform: [1, cin, h, w], bound: 1, seed: 13), wt = Tensor(uniform: [cout, cin, k, k], bound: 0.2, seed: 14)
        XCTAssertEqual(ConvolutionBackend.weightGradient(coutG: cout, geometry: PaddedGeometry(d: 1, h: h, w: w, kd: 1, kh: k, kw: k,
                                                                                             padding: [0, p, p], dilation: [1, 1, 1])), .shiftedGEMM)
        let y = try x.conv(wt, .uniform(padding: p, dims: 2))
        let r = Tensor(uniform: y.shape, bound: 1, seed: 15, requiresGrad: false)
        (y * r).sum().backward()
        var expected = [Float](repeating: 0, count: wt.count)
        for co in 0..<cout { for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
            var acc: Double = 0
            for oy in 0..<h { for ox in 0..<w {
                let (iy, ix) = (oy + ky - p, ox + kx - p)
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                acc += Double(r.data[(co * h + oy) * w + ox]) * Double(x.data[(ci * h + iy) * w + ix])
            } }
            expected[((co * cin + ci) * k + ky) * k + kx] = Float(acc)
        } } } }
        XCTAssertLessThan(relativeError(wt.grad ?? [], expected), 1e-6)
    }

    /// GRU's and MGU's fused steps without a graph equal the two 1×1 convolutions followed by the
    /// update (to rounding: the GEMMs run on blocks of pixels) — also with a zero hidden state (a
    /// RIM's first step, where the recurrent GEMM is skipped), a zero first item, and a hidden state
    /// that is zero but for its very last value.
    func testFusedGatedStepsAreConvsThenUpdate() throws {
        let random = Tensor(uniform: [2, 20, 17, 23], bound: 1, seed: 17).data
        let hiddens: [(String, (Int) -> [Float])] = [
            ("random", { Array(random.prefix(2 * $0 * 17 * 23)) }),
            ("zero", { [Float](repeating: 0, count: 2 * $0 * 17 * 23) }),
            ("first item zero", { n in [Float](repeating: 0, count: n * 17 * 23) + random.prefix(n * 17 * 23) }),
            ("last value only", { n in [Float](repeating: 0, count: 2 * n * 17 * 23 - 1) + [0.75] }),
        ]
        for (gates, cin, hid) in [(3, 24, 16), (2, 16, 20)] { for (label, hidden) in hiddens {
            let x = Tensor(uniform: [2, cin, 17, 23], bound: 1, seed: 16), h = Tensor(shape: [2, hid, 17, 23], data: hidden(hid))
            let wih = Tensor(uniform: [gates * hid, cin, 1, 1], bound: 0.3, seed: 18), whh = Tensor(uniform: [gates * hid, hid, 1, 1], bound: 0.3, seed: 19)
            let b = Tensor(uniform: [gates * hid], bound: 0.5, seed: 20)
            let expected = try Tensor.noGrad {
                try Tensor.gatedUpdate(wx: try x.conv(wih, bias: b), uh: try h.conv(whh), h: h, gates: gates)
            }
            let fused = try XCTUnwrap(try Tensor.noGrad { try x.pointwiseGatedCell((wih, b), recurrent: whh, hidden: h, gates: gates) })
            XCTAssertLessThan(relativeError(fused.data, expected.data), 1e-6, "\(gates) gates, \(label) hidden state")
            XCTAssertNil(try x.pointwiseGatedCell((wih, b), recurrent: whh, hidden: h, gates: gates), "with a graph the ops run one by one")
        } }
    }

    /// IndRNN's fused step without a graph equals the 1×1 convolution followed by the update.
    func testFusedIndRNNStepIsConvThenUpdate() throws {
        for (cin, cout, withBias) in [(24, 16, true), (16, 40, false)] {
            let x = Tensor(uniform: [2, cin, 17, 23], bound: 1, seed: 8), h = Tensor(uniform: [2, cout, 17, 23], bound: 1, seed: 9)
            let w = Tensor(uniform: [cout, cin, 1, 1], bound: 0.3, seed: 10), u = Tensor(uniform: [1, cout, 1, 1], bound: 1, seed: 11)
            let b = withBias ? Tensor(uniform: [cout], bound: 0.5, seed: 12) : nil
            let expected = try Tensor.noGrad { try x.conv(w, bias: b).indRNNUpdate(hidden: h, weight: u) }
            let fused = try Tensor.noGrad { try x.pointwiseIndRNN((w, b), hidden: h, weight: u) }
            XCTAssertTrue(fused?.data == expected.data, "\(cin) → \(cout)")
            XCTAssertTrue(expected.data.contains(0) && expected.data.contains { $0 > 0 })
            XCTAssertNil(try x.pointwiseIndRNN((w, b), hidden: h, weight: u), "with a graph the ops run one by one")
        }
    }
}
