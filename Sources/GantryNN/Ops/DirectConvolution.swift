import Foundation
import GantryCore

/// Dense convolutions with few output channels (≤ 16, or 32 on long rows: a U-Net's full-resolution
/// levels, a network's last layers), computed directly. As a GEMM these have M = Cout rows against
/// an operand of Cin·k³ × voxels that OpenBLAS must pack before multiplying — each packed value
/// then feeds only M multiply-adds, so packing (and, when strided, im2col) costs more than the
/// arithmetic: at 128³ a 4 → 4 3×3×3 layer spent most of its time copying. Here the input is
/// zero-padded once, split into stride phases along x (so every tap reads a contiguous run even for
/// stride 2), and each run of 2 lanes of output voxels (16 with AVX2, 32 with AVX-512) keeps 4
/// output channels in registers while the Cin·k³ taps stream past: two vector loads and four
/// broadcasts feed 8 fused multiply-adds, and nothing else is copied. With AVX-512, 9–32 output
/// channels go to the kernels with vectors across channels instead (`SlidingConvolution.swift`,
/// `ChannelVectorConvolution.swift`), which give the same sums.
#if GANTRY_AVX512
/// One register of output voxels: 16 floats with AVX-512 (Package.swift builds for x86-64-v4 where the CPU has it), else 8.
typealias Lane = SIMD16<Float>
typealias SIMD2Lane = SIMD32<Float>
#else
typealias Lane = SIMD8<Float>
typealias SIMD2Lane = SIMD16<Float>
#endif

/// acc + a·b, fused where the build has hardware FMA (GANTRY_FMA: Package.swift builds for x86-64-v3/v4
/// where the CPU has it); without it `addingProduct` is a library call per lane, so multiply, then add.
@inline(__always)
func madd(_ acc: Lane, _ a: Lane, _ b: Lane) -> Lane {
    #if GANTRY_FMA
    acc.addingProduct(a, b)
    #else
    acc + a * b
    #endif
}

/// acc + a·b on scalars, with the same FMA choice (the depthwise kernel's tail, which must round as
/// its vector body does).
@inline(__always)
func madd(_ acc: Float, _ a: Float, _ b: Float) -> Float {
    #if GANTRY_FMA
    acc.addingProduct(a, b)
    #else
    acc + a * b
    #endif
}

extension Tensor {
    /// Output channels per register block: 4 channels × 2 lanes (8 accumulators, as many as AVX2's
    /// 16 registers hold with the operands) needs 6 loads per 8 multiply-adds; 8 channels × 1 lane
    /// needed 9 and measured ~4 % more CPU time on the attention U-Net.
    static let directBlock = 4

    /// [n, cout, od, oh, ow] for any kernel, stride, padding and dilation (geometry of `geo`), one
    /// group, by the direct kernel `backend` names (by default the one `ConvolutionBackend.direct`
    /// picks; voxel-vector rows when none or a non-direct one is named).
    static func convolveDirect(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int, geometry geo: Im2Col,
                               bias: UnsafePointer<Float>? = nil, backend: ConvolutionBackend? = nil) -> [Float] {
        let backend = backend ?? ConvolutionBackend.direct(cout: cout, groups: 1, geometry: geo)
        let (od, oh, ow) = (geo.od, geo.oh, geo.ow)
        let (kd, kh, kw) = (geo.kd, geo.kh, geo.kw), taps = kd * kh * kw
        let (sz, sy, sx) = (geo.stride[0], geo.stride[1], geo.stride[2])
        let (dz, dy, dx) = (geo.dilation[0], geo.dilation[1], geo.dilation[2])
        let input = DirectInput(x, n: n, channels: cin, size: [geo.d, geo.h, geo.w], before: geo.padding, after: geo.padding, phases: sx)
        let wt = directWeights(cout: cout, cin: cin, taps: taps) { co, ci, t in weight[(co * cin + ci) * taps + t] }
        // Each tap's offset within a channel: plane and row of the tap, phase and position along x.
        var offsets = [Int]()
        for a in 0..<kd { for b in 0..<kh { for c in 0..<kw {
            offsets.append(a * dz * input.planePitch + b * dy * input.rowPitch + input.column(c * dx))
        } } }
        let terms = flatten(offsets, channels: cin, pitch: input.channelPitch)
        let outPlane = oh * ow, outVolume = od * outPlane
        let channelLanes: (sliding: Bool, lanes: Int)? = switch backend {
        case .sliding(let lanes): (true, lanes)
        case .channelVectors: (false, 2)
        default: nil
        }
        if let (sliding, lanes) = channelLanes {
            // vectors across output channels (sliding along x where the kernel allows), one job per output row
            let cw = channelWeights(cout: cout, cin: cin, taps: taps, lanes: lanes) { co, ci, t in weight[(co * cin + ci) * taps + t] }
            let rowOffsets = sliding ? flatten(stride(from: 0, to: taps, by: 3).map { offsets[$0] }, channels: cin, pitch: input.channelPitch) : terms
            return [Float](unsafeUninitializedCapacity: n * cout * outVolume) { ob, initialised in
                let op = ob.baseAddress!
                input.data.withUnsafeBufferPointer { ib in
                    Parallel.forEach(n * od * oh, work: n * cout * outVolume * cin * taps) { job in
                        let y = job % oh, z = (job / oh) % od, b = job / (oh * od)
                        let rowBase = ib.baseAddress! + b * cin * input.channelPitch + z * sz * input.planePitch + y * sy * input.rowPitch
                        let output = { (co: Int) in op + ((b * cout + co) * od + z) * outPlane + y * ow }
                        if !sliding {
                            directChannelsRow(rowBase, offsets: rowOffsets, weights: cw, cout: cout, count: ow, bias: bias, output: output)
                        } else if lanes == 1 {
                            directSlidingRow(rowBase, rowOffsets: rowOffsets, weights: cw, cout: cout, count: ow, bias: bias, output: output)
                        } else {
                            directSlidingRowPair(rowBase, rowOffsets: rowOffsets, weights: cw, cout: cout, count: ow, bias: bias, output: output)
                        }
                    }
                }
                initialised = n * cout * outVolume
            }
        }
        let rowsPerJob = if case .directRows(let rows) = backend { rows } else { ConvolutionBackend.rowsPerJob(width: ow, strideY: sy) }
        let jobRows = (oh + rowsPerJob - 1) / rowsPerJob
        return [Float](unsafeUninitializedCapacity: n * cout * outVolume) { ob, initialised in
            let op = ob.baseAddress!
            input.data.withUnsafeBufferPointer { ib in
                Parallel.forEach(n * od * jobRows, work: n * cout * outVolume * cin * taps) { job in
                    let y = job % jobRows * rowsPerJob, z = (job / jobRows) % od, b = job / (jobRows * od)
                    let rowBase = ib.baseAddress! + b * cin * input.channelPitch + z * sz * input.planePitch + y * sy * input.rowPitch
                    let pair = rowsPerJob == 2 && y + 1 < oh ? (input: sy * input.rowPitch, output: ow) : nil
                    directRows(rowBase, offsets: terms, weights: wt, cout: cout, count: ow, bias: bias, pair: pair) { co in
                        op + ((b * cout + co) * od + z) * outPlane + y * ow
                    }
                }
            }
            initialised = n * cout * outVolume
        }
    }

    /// One output row, or two (`pair`): rows of at most one lane share each run's two lanes
    /// (`directRow`), wider ones go through `directRowPair`.
    @inline(__always)
    static func directRows(_ row: UnsafePointer<Float>, offsets: [Int], weights: [Float], cout: Int, count: Int, bias: UnsafePointer<Float>?,
                           pair: (input: Int, output: Int)?, output: (Int) -> UnsafeMutablePointer<Float>) {
        if let pair, count > Lane.scalarCount {
            directRowPair(row, offsets: offsets, weights: weights, cout: cout, count: count, bias: bias, rows: pair, output: output)
        } else {
            directRow(row, offsets: offsets, weights: weights, cout: cout, count: count, bias: bias, pair: pair, output: output)
        }
    }

    /// The kernels' terms in the order of the weights ([cin][tap]): offset of tap t of channel ci =
    /// ci·pitch + offsets[t].
    static func flatten(_ offsets: [Int], channels: Int, pitch: Int) -> [Int] {
        (0..<channels).flatMap { ci in offsets.map { ci * pitch + $0 } }
    }

    /// Voxels start…start+L−1 of a row of `count` (those inside it) from a register: one vector
    /// store when they are all inside and contiguous (`step` 1), else element by element.
    @inline(__always)
    static func store(_ v: Lane, at start: Int, of count: Int, step: Int = 1, into row: UnsafeMutablePointer<Float>) {
        guard start < count else { return }
        let valid = min(Lane.scalarCount, count - start)
        if step == 1 && valid == Lane.scalarCount {
            UnsafeMutableRawPointer(row + start).storeBytes(of: v, as: Lane.self)
        } else {
            for i in 0..<valid { row[(start + i) * step] = v[i] }
        }
    }

    /// Weights as [block][cin][tap][B lanes] (zero lanes past cout), each tap's B values adjacent.
    static func directWeights(cout: Int, cin: Int, taps: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
        let B = directBlock, blocks = (cout + B - 1) / B
        var wt = [Float](repeating: 0, count: blocks * cin * taps * B)
        for co in 0..<cout { for ci in 0..<cin { for t in 0..<taps {
            wt[(((co / B) * cin + ci) * taps + t) * B + co % B] = value(co, ci, t)
        } } }
        return wt
    }

    /// One output row of `count` voxels for every output channel: runs of 2 lanes outside, blocks of
    /// 4 channels inside (a run's input — Cin·taps rows of 2 lanes — stays in L1 for every block).
    /// Input voxel i of term j (one input channel's tap, `flatten`) is `row[offsets[j] + i]`; output
    /// voxel i of channel co goes to `output(co)[i·step]` (step 1, or s for a phase of a transposed
    /// convolution). Rows of at most one lane (16 voxels with AVX-512: a U-Net's coarse levels) come
    /// in `pair`s so that no lane idles: the second lane is the same voxels of another row, read
    /// `pair.input` further on and written `pair.output` further on.
    @inline(__always)
    static func directRow(_ row: UnsafePointer<Float>, offsets: [Int], weights: [Float], cout: Int, count: Int,
                          bias: UnsafePointer<Float>?, step: Int = 1, pair: (input: Int, output: Int)? = nil,
                          output: (Int) -> UnsafeMutablePointer<Float>) {
        let B = directBlock, L = Lane.scalarCount, terms = offsets.count, blocks = (cout + B - 1) / B
        let second = pair ?? (input: L, output: L * step), run = pair == nil ? 2 * L : L
        offsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            let (offs, w0) = (ob.baseAddress!, wb.baseAddress!)
            for xs in stride(from: 0, to: count, by: run) {
                for blk in 0..<blocks {
                    let co0 = blk * B, lanes = min(B, cout - co0)
                    // accumulators 0–3: channels co0…co0+3 at voxels xs…xs+L−1; 4–7: the next L voxels
                    // (or the paired row's); plain locals in one flat loop over (channel, tap), which
                    // the compiler keeps in registers (a tuple, or a loop per channel, cost a register
                    // copy of every accumulator per step)
                    var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane(), a4 = Lane(), a5 = Lane(), a6 = Lane(), a7 = Lane()
                    let src = row + xs, secondInput = second.input
                    var k = w0 + blk * terms * B, o = offs
                    let end = offs + terms
                    while o < end {
                        let p = src + o.pointee
                        let v = UnsafeRawPointer(p).loadUnaligned(as: Lane.self)
                        let u = UnsafeRawPointer(p + secondInput).loadUnaligned(as: Lane.self)
                        let k0 = Lane(repeating: k[0]), k1 = Lane(repeating: k[1]), k2 = Lane(repeating: k[2]), k3 = Lane(repeating: k[3])
                        a0 = madd(a0, v, k0); a1 = madd(a1, v, k1); a2 = madd(a2, v, k2); a3 = madd(a3, v, k3)
                        a4 = madd(a4, u, k0); a5 = madd(a5, u, k1); a6 = madd(a6, u, k2); a7 = madd(a7, u, k3)
                        o += 1; k += B
                    }
                    var acc = (a0, a1, a2, a3, a4, a5, a6, a7)
                    withUnsafeBytes(of: &acc) { raw in
                        let v = raw.bindMemory(to: Lane.self)
                        for j in 0..<lanes {
                            let beta = Lane(repeating: bias?[co0 + j] ?? 0), dst = output(co0 + j)
                            store(v[j] + beta, at: xs, of: count, step: step, into: dst)
                            if pair == nil {
                                store(v[4 + j] + beta, at: xs + L, of: count, step: step, into: dst)
                            } else {
                                store(v[4 + j] + beta, at: xs, of: count, step: step, into: dst + second.output)
                            }
                        }
                    }
                }
            }
        } }
    }
}

extension Tensor {
    /// Two output rows at once (the second `rows.input` further on in the input and `rows.output`
    /// further on in the output), each of `count` voxels in runs of 2 lanes: 4 channels × 2 lanes × 2
    /// rows are 16 accumulators, so each tap's 4 weight broadcasts feed 16 fused multiply-adds
    /// instead of 8 and there are twice as many independent chains to cover the FMA latency.
    /// AVX-512 only (with the 4 inputs and 4 weights that is 24 of its 32 vector registers; AVX2's
    /// 16 would spill). Same operands and order of summation per voxel as `directRow`.
    @inline(__always)
    static func directRowPair(_ row: UnsafePointer<Float>, offsets: [Int], weights: [Float], cout: Int, count: Int,
                              bias: UnsafePointer<Float>?, rows: (input: Int, output: Int), output: (Int) -> UnsafeMutablePointer<Float>) {
        let B = directBlock, L = Lane.scalarCount, terms = offsets.count, blocks = (cout + B - 1) / B
        offsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            let (offs, w0) = (ob.baseAddress!, wb.baseAddress!)
            let second = rows.input
            for xs in stride(from: 0, to: count, by: 2 * L) {
                for blk in 0..<blocks {
                    let co0 = blk * B, lanes = min(B, cout - co0)
                    var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane(), a4 = Lane(), a5 = Lane(), a6 = Lane(), a7 = Lane()
                    var b0 = Lane(), b1 = Lane(), b2 = Lane(), b3 = Lane(), b4 = Lane(), b5 = Lane(), b6 = Lane(), b7 = Lane()
                    let src = row + xs
                    var k = w0 + blk * terms * B, o = offs
                    let end = offs + terms
                    while o < end {
                        let p = src + o.pointee
                        let k0 = Lane(repeating: k[0]), k1 = Lane(repeating: k[1]), k2 = Lane(repeating: k[2]), k3 = Lane(repeating: k[3])
                        let v = UnsafeRawPointer(p).loadUnaligned(as: Lane.self), u = UnsafeRawPointer(p + L).loadUnaligned(as: Lane.self)
                        a0 = madd(a0, v, k0); a1 = madd(a1, v, k1); a2 = madd(a2, v, k2); a3 = madd(a3, v, k3)
                        a4 = madd(a4, u, k0); a5 = madd(a5, u, k1); a6 = madd(a6, u, k2); a7 = madd(a7, u, k3)
                        let v2 = UnsafeRawPointer(p + second).loadUnaligned(as: Lane.self)
                        let u2 = UnsafeRawPointer(p + second + L).loadUnaligned(as: Lane.self)
                        b0 = madd(b0, v2, k0); b1 = madd(b1, v2, k1); b2 = madd(b2, v2, k2); b3 = madd(b3, v2, k3)
                        b4 = madd(b4, u2, k0); b5 = madd(b5, u2, k1); b6 = madd(b6, u2, k2); b7 = madd(b7, u2, k3)
                        o += 1; k += B
                    }
                    var acc = (a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7)
                    withUnsafeBytes(of: &acc) { raw in
                        let v = raw.bindMemory(to: Lane.self)
                        for j in 0..<lanes {
                            let beta = Lane(repeating: bias?[co0 + j] ?? 0), dst = output(co0 + j)
                            store(v[j] + beta, at: xs, of: count, into: dst)
                            store(v[4 + j] + beta, at: xs + L, of: count, into: dst)
                            store(v[8 + j] + beta, at: xs, of: count, into: dst + rows.output)
                            store(v[12 + j] + beta, at: xs + L, of: count, into: dst + rows.output)
                        }
                    }
                }
            }
        } }
    }
}

extension Tensor {
    /// c_j += g_j · X for the vector of X at `p`: one load feeding four output channels' FMAs.
    @inline(__always)
    private static func feed(_ p: UnsafePointer<Float>, _ g0: Lane, _ g1: Lane, _ g2: Lane, _ g3: Lane,
                             _ c0: inout Lane, _ c1: inout Lane, _ c2: inout Lane, _ c3: inout Lane) {
        let v = UnsafeRawPointer(p).loadUnaligned(as: Lane.self)
        c0 = madd(c0, g0, v); c1 = madd(c1, g1, v); c2 = madd(c2, g2, v); c3 = madd(c3, g3, v)
    }

    /// dW[t][co][ci] += Σ_q dY[co][q] · X[ci][q + offset_t] over one run of `len` positions of the
    /// padded layout (`PaddedGeometry`: positions past a row's end carry dY = 0). Taps come in rows
    /// of three along x (offsets o, o + dx, o + 2dx): 4 output channels × those 3 taps are 12 vector
    /// accumulators fed by 4 dY loads and 3 X loads per step, reduced once per run; with AVX-512 two
    /// rows of taps at once (24 accumulators; conv3d 16→16 at 128³ forward + backward 0.92× CPU time).
    static func weightGradientRun(dy: UnsafePointer<Float>, dyPitch: Int, x: UnsafePointer<Float>, xPitch: Int, coutG: Int, cg: Int, len: Int,
                                  offsets: [Int], kw: Int, xStep dx: Int, rowPairs: Bool, into dw: UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount, full = len / L * L, rows = offsets.count / kw
        for co0 in stride(from: 0, to: coutG, by: 4) {
            let cos = min(4, coutG - co0)
            // missing channels of a last partial block read channel co0 again and are not written
            let d0 = dy + co0 * dyPitch, d1 = dy + (co0 + min(1, cos - 1)) * dyPitch
            let d2 = dy + (co0 + min(2, cos - 1)) * dyPitch, d3 = dy + (co0 + min(3, cos - 1)) * dyPitch
            typealias Sums = (Lane, Lane, Lane, Lane, Lane, Lane, Lane, Lane, Lane, Lane, Lane, Lane)
            /// Adds one kernel row's 4 × 3 vector sums (plus the run's tail past the last full vector) into dW.
            func reduce(_ a: Sums, row r: Int, ci: Int, xr: UnsafePointer<Float>) {
                var a = a
                withUnsafeBytes(of: &a) { raw in
                    let v = raw.bindMemory(to: Lane.self)
                    for j in 0..<cos {
                        let dj = dy + (co0 + j) * dyPitch
                        for c in 0..<3 {
                            var sum = v[j * 3 + c].sum()
                            for i in full..<len { sum += dj[i] * xr[i + c * dx] }
                            dw[((r * kw + c) * coutG + co0 + j) * cg + ci] += sum
                        }
                    }
                }
            }
            for ci in 0..<cg {
                var r = 0
                // AVX-512: two kernel rows at once, 24 accumulators fed by 4 dY and 6 X loads (each
                // dY load serves 6 FMAs instead of 3)
                while rowPairs && r + 1 < rows {
                    let xr = x + ci * xPitch + offsets[r * kw], xs = x + ci * xPitch + offsets[(r + 1) * kw]
                    var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane(), a4 = Lane(), a5 = Lane()
                    var a6 = Lane(), a7 = Lane(), a8 = Lane(), a9 = Lane(), a10 = Lane(), a11 = Lane()
                    var b0 = Lane(), b1 = Lane(), b2 = Lane(), b3 = Lane(), b4 = Lane(), b5 = Lane()
                    var b6 = Lane(), b7 = Lane(), b8 = Lane(), b9 = Lane(), b10 = Lane(), b11 = Lane()
                    var q = 0
                    while q < full {
                        let g0 = UnsafeRawPointer(d0 + q).loadUnaligned(as: Lane.self), g1 = UnsafeRawPointer(d1 + q).loadUnaligned(as: Lane.self)
                        let g2 = UnsafeRawPointer(d2 + q).loadUnaligned(as: Lane.self), g3 = UnsafeRawPointer(d3 + q).loadUnaligned(as: Lane.self)
                        feed(xr + q, g0, g1, g2, g3, &a0, &a3, &a6, &a9)
                        feed(xr + q + dx, g0, g1, g2, g3, &a1, &a4, &a7, &a10)
                        feed(xr + q + 2 * dx, g0, g1, g2, g3, &a2, &a5, &a8, &a11)
                        feed(xs + q, g0, g1, g2, g3, &b0, &b3, &b6, &b9)
                        feed(xs + q + dx, g0, g1, g2, g3, &b1, &b4, &b7, &b10)
                        feed(xs + q + 2 * dx, g0, g1, g2, g3, &b2, &b5, &b8, &b11)
                        q += L
                    }
                    reduce((a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11), row: r, ci: ci, xr: xr)
                    reduce((b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11), row: r + 1, ci: ci, xr: xs)
                    r += 2
                }
                while r < rows {
                    defer { r += 1 }
                    let xr = x + ci * xPitch + offsets[r * kw]
                    var a = (Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane(), Lane())
                    var q = 0
                    while q < full {
                        let g0 = UnsafeRawPointer(d0 + q).loadUnaligned(as: Lane.self), g1 = UnsafeRawPointer(d1 + q).loadUnaligned(as: Lane.self)
                        let g2 = UnsafeRawPointer(d2 + q).loadUnaligned(as: Lane.self), g3 = UnsafeRawPointer(d3 + q).loadUnaligned(as: Lane.self)
                        let x0 = UnsafeRawPointer(xr + q).loadUnaligned(as: Lane.self)
                        let x1 = UnsafeRawPointer(xr + q + dx).loadUnaligned(as: Lane.self)
                        let x2 = UnsafeRawPointer(xr + q + 2 * dx).loadUnaligned(as: Lane.self)
                        a.0 = madd(a.0, g0, x0); a.1 = madd(a.1, g0, x1); a.2 = madd(a.2, g0, x2)
                        a.3 = madd(a.3, g1, x0); a.4 = madd(a.4, g1, x1); a.5 = madd(a.5, g1, x2)
                        a.6 = madd(a.6, g2, x0); a.7 = madd(a.7, g2, x1); a.8 = madd(a.8, g2, x2)
                        a.9 = madd(a.9, g3, x0); a.10 = madd(a.10, g3, x1); a.11 = madd(a.11, g3, x2)
                        q += L
                    }
                    reduce(a, row: r, ci: ci, xr: xr)
                }
            }
        }
    }
}

extension Tensor {
    /// A transposed convolution (one group, few output channels: `ConvolutionBackend.takesDirectRows`; weight [Cin,
    /// Cout, k…]) computed by output phases instead of by scattering: output o = s·m + ρ along an
    /// axis receives tap k from input m + δ exactly when ρ + p − k·dil = s·δ, so each of the s³
    /// phases is an ordinary stride-1 correlation of the input with its own few taps (for kernel 3,
    /// stride 2: 1 or 2 per axis) — the direct kernel's rows, stored every s-th voxel. No column
    /// buffer, no overlapping adds, and every output is written exactly once.
    static func convTransposeDirect(_ x: UnsafePointer<Float>, n: Int, cin: Int, inSize: [Int], weight: UnsafePointer<Float>, cout: Int,
                                    kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], outSize: [Int],
                                    bias: UnsafePointer<Float>?) -> [Float] {
        // Per axis and phase: the taps (k, δ) and how many outputs the phase has.
        var taps = [[[(k: Int, delta: Int)]]](), counts = [[Int]]()
        var before = [0, 0, 0], after = [0, 0, 0]
        for a in 0..<3 {
            let s = stride[a]
            var axisTaps = [[(k: Int, delta: Int)]](), axisCounts = [Int]()
            for rho in 0..<s {
                let list = (0..<kernel[a]).compactMap { k -> (k: Int, delta: Int)? in
                    let e = rho + padding[a] - k * dilation[a]
                    return ((e % s) + s) % s == 0 ? (k, e / s) : nil
                }
                let m = rho < outSize[a] ? (outSize[a] - rho + s - 1) / s : 0
                for t in list where m > 0 {
                    before[a] = max(before[a], -t.delta)
                    after[a] = max(after[a], m - 1 + t.delta - (inSize[a] - 1))
                }
                axisTaps.append(list); axisCounts.append(m)
            }
            taps.append(axisTaps); counts.append(axisCounts)
        }
        let input = DirectInput(x, n: n, channels: cin, size: inSize, before: before, after: after, phases: 1)
        let (od, oh, ow) = (outSize[0], outSize[1], outSize[2]), outPlane = oh * ow, outVolume = od * outPlane
        let (kd, kh, kw) = (kernel[0], kernel[1], kernel[2])
        return [Float](unsafeUninitializedCapacity: n * cout * outVolume) { ob, initialised in
            let op = ob.baseAddress!
            // Per (z, y) phase and x phase: its taps' offsets and weights.
            let (sz, sy, sx) = (stride[0], stride[1], stride[2]), width = counts[2].max() ?? 0
            var phaseOffsets = [[[Int]]](), phaseWeights = [[[Float]]]()
            for rz in 0..<sz { for ry in 0..<sy {
                var offsetsX = [[Int]](), weightsX = [[Float]]()
                for rx in 0..<sx {
                    var offsets = [Int](), kernelIndex = [Int]()
                    for tz in taps[0][rz] { for ty in taps[1][ry] { for tx in taps[2][rx] {
                        offsets.append((tz.delta + before[0]) * input.planePitch + (ty.delta + before[1]) * input.rowPitch + tx.delta + before[2])
                        kernelIndex.append((tz.k * kh + ty.k) * kw + tx.k)
                    } } }
                    offsetsX.append(flatten(offsets, channels: cin, pitch: input.channelPitch))
                    weightsX.append(directWeights(cout: cout, cin: cin, taps: offsets.count) { co, ci, t in weight[(ci * cout + co) * kd * kh * kw + kernelIndex[t]] })
                }
                phaseOffsets.append(offsetsX); phaseWeights.append(weightsX)
            } }
            let (mzMax, myMax) = (counts[0].max() ?? 0, counts[1].max() ?? 0)
            let termCount = phaseOffsets.joined().reduce(0) { $0 + $1.count }  // taps × input channels, all phases
            // phase rows go in pairs (y, y + 1), as in `convolveDirect` (the phases' rows are unit-stride)
            let rowsPerJob = ConvolutionBackend.rowsPerJob(width: width, strideY: 1), jobRows = (myMax + rowsPerJob - 1) / rowsPerJob
            let rowSet = sx * cout * width
            input.data.withUnsafeBufferPointer { ib in
                // One job per input-grid row (z, y) does every (z, y) phase of it, so each input row is
                // read from memory once rather than once per phase (sz·sy times).
                Parallel.forEach(n * mzMax * jobRows, work: n * cout * mzMax * myMax * width * max(termCount, 1)) { job in
                    let y = job % jobRows * rowsPerJob, z = (job / jobRows) % mzMax, b = job / (jobRows * mzMax)
                    let rowBase = ib.baseAddress! + b * cin * input.channelPitch + z * input.planePitch + y * input.rowPitch
                    // Each x phase's row into its own contiguous buffer (a second set for the paired
                    // row), then interleaved into the output row (which reads only what was written).
                    var rows = [Float](unsafeUninitializedCapacity: rowsPerJob * rowSet) { _, k in k = rowsPerJob * rowSet }
                    rows.withUnsafeMutableBufferPointer { rb in
                        let rp = rb.baseAddress!
                        for rz in 0..<sz where z < counts[0][rz] { for ry in 0..<sy where y < counts[1][ry] {
                            let (oz, oy) = (z * sz + rz, y * sy + ry), phase = rz * sy + ry
                            let paired = rowsPerJob == 2 && y + 1 < counts[1][ry]
                            for rx in 0..<sx where counts[2][rx] > 0 {
                                if phaseOffsets[phase][rx].isEmpty {
                                    // no tap reaches this phase (stride > kernel): bias only
                                    for co in 0..<cout { for r in 0..<rowsPerJob {
                                        (rp + r * rowSet + (rx * cout + co) * width).update(repeating: bias?[co] ?? 0, count: counts[2][rx])
                                    } }
                                    continue
                                }
                                directRows(rowBase, offsets: phaseOffsets[phase][rx], weights: phaseWeights[phase][rx], cout: cout, count: counts[2][rx],
                                           bias: bias, pair: paired ? (input: input.rowPitch, output: rowSet) : nil) { co in rp + (rx * cout + co) * width }
                            }
                            for r in 0..<(paired ? 2 : 1) { for co in 0..<cout {
                                let dst = op + ((b * cout + co) * od + oz) * outPlane + (oy + r * sy) * ow
                                interleave(phases: sx, rows: rp + r * rowSet + co * width, phasePitch: cout * width, counts: counts[2], into: dst, width: ow)
                            } }
                        } }
                    }
                }
            }
            initialised = n * cout * outVolume
        }
    }
}

extension Tensor {
    /// out[s·m + ρ] = rows[ρ·phasePitch + m] for the `phases` x phases of a transposed convolution's
    /// output row; two phases (stride 2) are interleaved a vector at a time (`evenHalf`/`oddHalf`).
    @inline(__always)
    static func interleave(phases s: Int, rows: UnsafePointer<Float>, phasePitch: Int, counts: [Int], into out: UnsafeMutablePointer<Float>, width: Int) {
        var done = 0
        if s == 2 {
            let L = Lane.scalarCount, full = min(counts[0], counts[1]) / L * L
            while done < full {
                var pair = SIMD2Lane()
                pair.evenHalf = UnsafeRawPointer(rows + done).loadUnaligned(as: Lane.self)
                pair.oddHalf = UnsafeRawPointer(rows + phasePitch + done).loadUnaligned(as: Lane.self)
                UnsafeMutableRawPointer(out + 2 * done).storeBytes(of: pair, as: SIMD2Lane.self)
                done += L
            }
        }
        for rho in 0..<s { for m in done..<counts[rho] where s * m + rho < width { out[s * m + rho] = rows[rho * phasePitch + m] } }
    }
}

/// A convolution's input zero-padded once (`before`/`after` voxels per axis), x split into
/// `phases` stride phases — padded column c lives in phase c % phases at position c / phases — so
/// every tap of every output reads a contiguous run. Rows carry two lanes of slack for the last
/// run's reads. Written plane by plane in parallel, zeros included (a zero-filled allocation would
/// be one serial memset of the whole buffer first).
struct DirectInput {
    let data: [Float]
    let phases: Int, phaseLength: Int, rowPitch: Int, planePitch: Int, channelPitch: Int

    init(_ x: UnsafePointer<Float>, n: Int, channels: Int, size: [Int], before: [Int], after: [Int], phases sx: Int) {
        let (d, h, w) = (size[0], size[1], size[2])
        let (pz, py, px) = (before[0], before[1], before[2])
        let dp = d + pz + after[0], hp = h + py + after[1], wp = w + px + after[2]
        let wq = (wp + sx - 1) / sx + 2 * Lane.scalarCount
        let (rowPitch, planePitch) = (sx * wq, hp * sx * wq), channelPitch = dp * planePitch
        phases = sx; phaseLength = wq; self.rowPitch = rowPitch; self.planePitch = planePitch; self.channelPitch = channelPitch
        data = [Float](unsafeUninitializedCapacity: n * channels * channelPitch) { pb, initialised in
            let pp = pb.baseAddress!
            Parallel.forEach(n * channels * dp, work: n * channels * channelPitch) { job in
                let zp = job % dp, nc = job / dp, z = zp - pz
                let plane = pp + nc * channelPitch + zp * planePitch
                guard z >= 0, z < d else { plane.initialize(repeating: 0, count: planePitch); return }
                for yp in 0..<hp {
                    let dst = plane + yp * rowPitch, y = yp - py
                    guard y >= 0, y < h else { dst.initialize(repeating: 0, count: rowPitch); continue }
                    let src = x + (nc * d + z) * h * w + y * w
                    if sx == 1 {
                        // zeros only around the copied row
                        dst.initialize(repeating: 0, count: px)
                        (dst + px).initialize(from: src, count: w)
                        (dst + px + w).initialize(repeating: 0, count: rowPitch - px - w)
                    } else {
                        dst.initialize(repeating: 0, count: rowPitch)
                        // phase p holds padded columns p, p + sx, …: input columns p − px, p − px + sx, …
                        for phase in 0..<sx {
                            var i = phase - px, q = 0
                            while i < 0 { i += sx; q += 1 }
                            let row = dst + phase * wq
                            if sx == 2 {
                                // a vector of every other column at a time (evenHalf of two lanes)
                                let L = Lane.scalarCount
                                while i + 2 * L <= w {
                                    let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD2Lane.self)
                                    UnsafeMutableRawPointer(row + q).storeBytes(of: v.evenHalf, as: Lane.self)
                                    i += 2 * L; q += L
                                }
                            }
                            while i < w { row[q] = src[i]; i += sx; q += 1 }
                        }
                    }
                }
            }
            initialised = n * channels * channelPitch
        }
    }

    /// Offset of padded column c within a row.
    func column(_ c: Int) -> Int { (c % phases) * phaseLength + c / phases }
}
