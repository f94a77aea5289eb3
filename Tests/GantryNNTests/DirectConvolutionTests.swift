import GantryCore
@testable import GantryNN
import XCTest

/// The direct few-output-channel convolution against a plain loop over the definition, and its
/// gradients against the GEMM paths it replaces (which the parity tests check against PyTorch).
final class DirectConvolutionTests: XCTestCase {
    /// y[b, co, z, y, x] = bias[co] + Σ w[co, ci, a, b, c] · x[b, ci, z·s − p + a·dil, …] (0 outside).
    func reference(_ x: Tensor, _ w: Tensor, _ bias: Tensor, _ p: ConvParameters) -> (shape: [Int], data: [Float]) {
        let (n, cin, d, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (cout, kd, kh, kw) = (w.shape[0], w.shape[2], w.shape[3], w.shape[4])
        let (s, pd, dl) = (p.stride, p.padding, p.dilation)
        let od = (d + 2 * pd[0] - dl[0] * (kd - 1) - 1) / s[0] + 1, oh = (h + 2 * pd[1] - dl[1] * (kh - 1) - 1) / s[1] + 1
        let ow = (wd + 2 * pd[2] - dl[2] * (kw - 1) - 1) / s[2] + 1
        var out = [Float](repeating: 0, count: n * cout * od * oh * ow)
        for b in 0..<n { for co in 0..<cout { for z in 0..<od { for y in 0..<oh { for xx in 0..<ow {
            var acc = Double(bias.data[co])
            for ci in 0..<cin { for a in 0..<kd { for bb in 0..<kh { for c in 0..<kw {
                let iz = z * s[0] - pd[0] + a * dl[0], iy = y * s[1] - pd[1] + bb * dl[1], ix = xx * s[2] - pd[2] + c * dl[2]
                guard iz >= 0, iz < d, iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                acc += Double(w.data[(((co * cin + ci) * kd + a) * kh + bb) * kw + c]) * Double(x.data[(((b * cin + ci) * d + iz) * h + iy) * wd + ix])
            } } } }
            out[(((b * cout + co) * od + z) * oh + y) * ow + xx] = Float(acc)
        } } } } }
        return ([n, cout, od, oh, ow], out)
    }

    func run(_ x: Tensor, _ w: Tensor, _ b: Tensor, _ p: ConvParameters, direct: Bool) throws -> (y: Tensor, gx: [Float], gw: [Float]) {
        try ConvolutionKernels.with(.init(direct: direct)) {
            x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
            let y = try x.conv(w, bias: b, p)
            (y * Tensor(uniform: y.shape, bound: 1, seed: 9, requiresGrad: false)).sum().backward()
            return (y, x.grad ?? [], w.grad ?? [])
        }
    }

    func testMatchesTheDefinitionAndTheGEMMPaths() throws {
        let cases: [(String, [Int], [Int], ConvParameters)] = [
            ("3×3×3 stride 1 padding 1, 4 → 4", [1, 4, 9, 10, 21], [4, 4, 3, 3, 3], .uniform(padding: 1)),
            ("3×3×3 stride 2 padding 1, 4 → 8 (U-Net down)", [2, 4, 11, 12, 13], [8, 4, 3, 3, 3], .uniform(stride: 2, padding: 1)),
            ("stride (1, 2, 3), dilation 2, 5 → 11 (two register blocks)", [1, 5, 9, 14, 30], [11, 5, 3, 3, 2], ConvParameters(stride: [1, 2, 3], padding: [2, 1, 0], dilation: [2, 2, 2])),
            ("2D 3×3, 6 → 3", [2, 6, 17, 19], [3, 6, 3, 3], .uniform(padding: 1, dims: 2)),
            ("3×3×3 stride 1 dilation 2, 7 → 11 (partial channel blocks, weight gradient by rows of taps)", [1, 7, 8, 9, 23], [11, 7, 3, 3, 3],
             .uniform(padding: 2, dilation: 2)),
            ("1×1×1 stride 2, 3 → 16", [1, 3, 8, 9, 10], [16, 3, 1, 1, 1], .uniform(stride: 2)),
            ("3×3×3 stride 2, 6 → 24 on rows of 8 (rows in pairs, the last unpaired)", [1, 6, 7, 9, 15], [24, 6, 3, 3, 3], .uniform(stride: 2, padding: 1)),
        ]
        for (name, xs, ws, p) in cases {
            let x = Tensor(uniform: xs, bound: 1, seed: 1, requiresGrad: true), w = Tensor(uniform: ws, bound: 0.3, seed: 2, requiresGrad: true)
            let b = Tensor(uniform: [ws[0]], bound: 0.5, seed: 3, requiresGrad: true)
            XCTAssertTrue(ConvolutionBackend.takesDirectRows(cout: ws[0], groups: 1, width: 8), name)
            let fast = try run(x, w, b, p, direct: true), gemm = try run(x, w, b, p, direct: false)
            let is2D = xs.count == 4
            let x5 = is2D ? Tensor(shape: [xs[0], xs[1], 1, xs[2], xs[3]], data: x.data) : x
            let w5 = is2D ? Tensor(shape: [ws[0], ws[1], 1, ws[2], ws[3]], data: w.data) : w
            let p5 = is2D ? ConvParameters(stride: [1] + p.stride, padding: [0] + p.padding, dilation: [1] + p.dilation) : p
            let ref = reference(x5, w5, b, p5)
            XCTAssertEqual(fast.y.count, ref.data.count, name)
            // the kernel itself, called directly (the paths can agree bit for bit: both sum Cin·k³
            // products in the same order with fused multiply-adds)
            let geo = Im2Col(c: xs[1], d: x5.shape[2], h: x5.shape[3], w: x5.shape[4], kd: w5.shape[2], kh: w5.shape[3], kw: w5.shape[4],
                             od: ref.shape[2], oh: ref.shape[3], ow: ref.shape[4], stride: p5.stride, padding: p5.padding, dilation: p5.dilation)
            let raw = x.data.withUnsafeBufferPointer { xb in w.data.withUnsafeBufferPointer { wb in b.data.withUnsafeBufferPointer { bb in
                Tensor.convolveDirect(xb.baseAddress!, n: xs[0], cin: xs[1], weight: wb.baseAddress!, cout: ws[0], geometry: geo, bias: bb.baseAddress!)
            } } }
            XCTAssertLessThan(relativeError(raw, ref.data), 1e-5, "\(name) kernel")
            print("direct conv \(name): vs definition \(relativeError(fast.y.data, ref.data)), dx vs GEMM \(relativeError(fast.gx, gemm.gx)), dw vs GEMM \(relativeError(fast.gw, gemm.gw))")
            XCTAssertLessThan(relativeError(fast.y.data, ref.data), 1e-5, "\(name) output")
            XCTAssertLessThan(relativeError(gemm.y.data, ref.data), 1e-5, "\(name) GEMM output")
            XCTAssertLessThan(relativeError(fast.gx, gemm.gx), 1e-5, "\(name) input gradient")
            XCTAssertLessThan(relativeError(fast.gw, gemm.gw), 1e-5, "\(name) weight gradient")
        }
    }

    /// The kernels with vectors across output channels (AVX-512 builds: `directSlidingRow` for ≤ 16
    /// channels, `directSlidingRowPair` for 17–32 at stride 1 along x, `directChannelsRow` for 17–32
    /// otherwise) against the definition, and against `directRow` bit for bit (same products summed
    /// in the same order): runs cut short at the row's end, more terms than one chunk (the sums wait
    /// in the row tile), stride and dilation, 2D; the gradients against the GEMMs: dX is the same
    /// kind of kernel on dY, dW by `weightGradientChannels` where stride 1 (one and two lanes, two
    /// chunks of positions and more, batch 2, 2D).
    func testChannelVectorKernelsMatchTheDefinitionAndDirectRow() throws {
        #if GANTRY_AVX512
        let cases: [(String, [Int], [Int], ConvParameters)] = [
            ("3×3×3 stride 1 padding 1, 24 → 20, batch 2, rows of 30 (sliding, two lanes: runs 11, 11, 8; 830 positions: two gradient chunks)", [2, 24, 4, 5, 30], [20, 24, 3, 3, 3], .uniform(padding: 1)),
            ("3×3×3 padding 1, 5 → 12, rows of 45 (sliding, one lane: runs 22, 22, 1; 45 tap rows: two chunks)", [1, 5, 3, 4, 45], [12, 5, 3, 3, 3], .uniform(padding: 1)),
            ("3×3×3 dilation (2, 2, 1), 17 → 16, rows of 40 (153 tap rows: the gradient's last group of 6 partial)", [1, 17, 5, 6, 40], [16, 17, 3, 3, 3],
             ConvParameters(padding: [2, 2, 1], dilation: [2, 2, 1])),
            ("3×3×3 stride 2 padding 1, 5 → 32, rows of 31 (5·27 terms: two chunks)", [1, 5, 5, 6, 61], [32, 5, 3, 3, 3], .uniform(stride: 2, padding: 1)),
            ("stride (1, 1, 2), dilation 2, 3 → 17", [1, 3, 6, 7, 70], [17, 3, 3, 3, 3], ConvParameters(stride: [1, 1, 2], padding: [2, 2, 2], dilation: [2, 2, 2])),
            ("2D 3×3, 4 → 25, rows of 26", [2, 4, 7, 26], [25, 4, 3, 3], .uniform(padding: 1, dims: 2)),
        ]
        for (name, xs, ws, p) in cases {
            let x = Tensor(uniform: xs, bound: 1, seed: 1, requiresGrad: true), w = Tensor(uniform: ws, bound: 0.3, seed: 2, requiresGrad: true)
            let b = Tensor(uniform: [ws[0]], bound: 0.5, seed: 3, requiresGrad: true)
            let is2D = xs.count == 4
            let x5 = is2D ? Tensor(shape: [xs[0], xs[1], 1, xs[2], xs[3]], data: x.data) : x
            let w5 = is2D ? Tensor(shape: [ws[0], ws[1], 1, ws[2], ws[3]], data: w.data) : w
            let p5 = is2D ? ConvParameters(stride: [1] + p.stride, padding: [0] + p.padding, dilation: [1] + p.dilation) : p
            let ref = reference(x5, w5, b, p5)
            let sliding = ConvolutionBackend.takesSliding(cout: ws[0], groups: 1, width: ref.shape[4], kernelWidth: ws.last!, strideX: p.stride.last!,
                                                dilationX: p.dilation.last!)
            XCTAssertTrue(sliding || ConvolutionBackend.takesChannelVectors(cout: ws[0], groups: 1, width: ref.shape[4]), name)
            let geo = Im2Col(c: xs[1], d: x5.shape[2], h: x5.shape[3], w: x5.shape[4], kd: w5.shape[2], kh: w5.shape[3], kw: w5.shape[4],
                             od: ref.shape[2], oh: ref.shape[3], ow: ref.shape[4], stride: p5.stride, padding: p5.padding, dilation: p5.dilation)
            func kernel(_ channels: Bool) -> [Float] {
                ConvolutionKernels.with(.init(channelVectors: channels)) {
                    x.data.withUnsafeBufferPointer { xb in w.data.withUnsafeBufferPointer { wb in b.data.withUnsafeBufferPointer { bb in
                        Tensor.convolveDirect(xb.baseAddress!, n: xs[0], cin: xs[1], weight: wb.baseAddress!, cout: ws[0], geometry: geo, bias: bb.baseAddress!)
                    } } }
                }
            }
            let channels = kernel(true), rows = kernel(false)
            print("channel vectors \(name): vs definition \(relativeError(channels, ref.data)), differing values vs directRow \(zip(channels, rows).filter { $0 != $1 }.count)")
            XCTAssertLessThan(relativeError(channels, ref.data), 1e-5, name)
            XCTAssertEqual(channels, rows, "\(name): not the same sums as directRow")
            let fast = try run(x, w, b, p, direct: true), gemm = try run(x, w, b, p, direct: false)
            print("  input gradient vs GEMM \(relativeError(fast.gx, gemm.gx)), weight gradient vs GEMM \(relativeError(fast.gw, gemm.gw))")
            XCTAssertLessThan(relativeError(fast.y.data, ref.data), 1e-5, "\(name) output")
            XCTAssertLessThan(relativeError(fast.gx, gemm.gx), 1e-5, "\(name) input gradient")
            XCTAssertLessThan(relativeError(fast.gw, gemm.gw), 1e-5, "\(name) weight gradient")
        }
        #else
        throw XCTSkip("AVX-512 builds only")
        #endif
    }

    /// Transposed convolutions by output phases against the column-and-scatter path (which the
    /// parity tests check against PyTorch's conv_transpose), including phases no tap reaches.
    func testTransposedByPhasesMatchesTheScatterPath() throws {
        let cases: [(String, [Int], [Int], ConvParameters, [Int])] = [
            ("k3 s2 p1 op1 (MONAI up-sampling), 16 → 4", [1, 16, 6, 7, 9], [16, 4, 3, 3, 3], .uniform(stride: 2, padding: 1), [1, 1, 1]),
            ("k3 s2 p1 op1, 8 → 11, batch 2", [2, 8, 5, 4, 6], [8, 11, 3, 3, 3], .uniform(stride: 2, padding: 1), [1, 1, 1]),
            ("k2 s3 (phases without taps), 3 → 5", [1, 3, 4, 5, 3], [3, 5, 2, 2, 2], .uniform(stride: 3), [0, 0, 0]),
            ("k3 stride (1, 2, 2) dilation 2 padding 2, 5 → 6", [1, 5, 4, 6, 5], [5, 6, 3, 3, 3], ConvParameters(stride: [1, 2, 2], padding: [2, 2, 2], dilation: [2, 2, 2]), [0, 1, 0]),
            ("2D k3 s2 p1 op1, 6 → 3", [2, 6, 7, 9], [6, 3, 3, 3], .uniform(stride: 2, padding: 1, dims: 2), [1, 1]),
            // phase rows longer than a lane (one row per run) and an odd count of rows (the last unpaired)
            ("k3 s2 p1 op1, rows of 19 per phase, 4 → 3", [1, 4, 3, 5, 19], [4, 3, 3, 3, 3], .uniform(stride: 2, padding: 1), [1, 1, 1]),
        ]
        for (name, xs, ws, p, op) in cases {
            let x = Tensor(uniform: xs, bound: 1, seed: 4, requiresGrad: true), w = Tensor(uniform: ws, bound: 0.3, seed: 5, requiresGrad: true)
            let b = Tensor(uniform: [ws[1]], bound: 0.5, seed: 6, requiresGrad: true)
            func run(_ direct: Bool) throws -> Tensor {
                try ConvolutionKernels.with(.init(direct: direct)) { try x.convTranspose(w, bias: b, p, outputPadding: op) }
            }
            let phases = try run(true), scatter = try run(false)
            XCTAssertEqual(phases.shape, scatter.shape, name)
            print("transposed by phases \(name): relative error \(relativeError(phases.data, scatter.data))")
            XCTAssertLessThan(relativeError(phases.data, scatter.data), 1e-5, name)
        }
    }
}

/// The depthwise convolution (register-blocked runs over the padded layout, forward and input
/// gradient) against its definition: y = Σ w·x over the 3×3×3 neighbourhood, dX and dW by loops.
final class DepthwiseConvolutionTests: XCTestCase {
    func testMatchesTheDefinitionForwardAndBackward() throws {
        for (shape, pad) in [([1, 3, 5, 6, 7], 1), ([2, 2, 6, 9, 70], 1), ([1, 2, 7, 8, 37], 0)] {
            let (n, c, d, h, w) = (shape[0], shape[1], shape[2], shape[3], shape[4])
            let x = Tensor(uniform: shape, bound: 1, seed: 11, requiresGrad: true), k = Tensor(uniform: [c, 1, 3, 3, 3], bound: 0.5, seed: 12, requiresGrad: true)
            let y = try x.conv(k, .uniform(padding: pad, groups: c))
            let (od, oh, ow) = (d + 2 * pad - 2, h + 2 * pad - 2, w + 2 * pad - 2)
            XCTAssertEqual(y.shape, [n, c, od, oh, ow])
            let r = Tensor(uniform: y.shape, bound: 1, seed: 13, requiresGrad: false)
            (y * r).sum().backward()
            var ref = [Double](repeating: 0, count: y.count), gx = [Double](repeating: 0, count: x.count), gw = [Double](repeating: 0, count: k.count)
            for b in 0..<n { for ch in 0..<c { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
                let o = (((b * c + ch) * od + z) * oh + yy) * ow + xx
                for a in 0..<3 { for bb in 0..<3 { for cc in 0..<3 {
                    let (iz, iy, ix) = (z - pad + a, yy - pad + bb, xx - pad + cc)
                    guard iz >= 0, iz < d, iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    let i = (((b * c + ch) * d + iz) * h + iy) * w + ix, t = ch * 27 + (a * 3 + bb) * 3 + cc
                    ref[o] += Double(k.data[t]) * Double(x.data[i])
                    gx[i] += Double(k.data[t]) * Double(r.data[o])
                    gw[t] += Double(x.data[i]) * Double(r.data[o])
                } } }
            } } } } }
            XCTAssertLessThan(relativeError(y.data, ref.map { Float($0) }), 1e-5, "\(shape) output")
            XCTAssertLessThan(relativeError(x.grad ?? [], gx.map { Float($0) }), 1e-5, "\(shape) input gradient")
            XCTAssertLessThan(relativeError(k.grad ?? [], gw.map { Float($0) }), 1e-5, "\(shape) weight gradient")
        }
    }
}
