import Foundation
import GantryCore

/// Dense convolutions with few output channels (≤ 16: a U-Net's full-resolution levels, a network's
/// last layers), computed directly. As a GEMM these have M = Cout ≤ 16 rows against an operand of
/// Cin·k³ × voxels that OpenBLAS must pack before multiplying — each packed value then feeds only
/// M multiply-adds, so packing (and, when strided, im2col) costs more than the arithmetic: at 128³
/// a 4 → 4 3×3×3 layer spent most of its time copying. Here the input is zero-padded once, split
/// into stride phases along x (so every tap reads a contiguous run even for stride 2), and each
/// run of 8 output voxels keeps 8 output channels in registers (8 AVX registers) while the Cin·k³
/// taps stream past: one 8-wide load feeds 8 fused multiply-adds, and nothing else is copied.
extension Tensor {
    /// Tests and GANTRY_DIRECT=0 (A/B timing) turn the direct path off to compare with the GEMM paths.
    nonisolated(unsafe) public static var directEnabled = ProcessInfo.processInfo.environment["GANTRY_DIRECT"] != "0"

    /// Output channels per register block.
    static let directBlock = 8

    /// Whether `convolveDirect` takes a convolution: one group, at most 16 output channels.
    static func directApplies(cout: Int, groups: Int) -> Bool { directEnabled && groups == 1 && cout <= 16 }

    /// [n, cout, od, oh, ow] for any kernel, stride, padding and dilation (geometry of `geo`).
    static func convolveDirect(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int, geometry geo: Im2Col,
                               bias: UnsafePointer<Float>? = nil) -> [Float] {
        let (d, h, w, od, oh, ow) = (geo.d, geo.h, geo.w, geo.od, geo.oh, geo.ow)
        let (kd, kh, kw) = (geo.kd, geo.kh, geo.kw), taps = kd * kh * kw
        let (sz, sy, sx) = (geo.stride[0], geo.stride[1], geo.stride[2])
        let (pz, py, px) = (geo.padding[0], geo.padding[1], geo.padding[2])
        let (dz, dy, dx) = (geo.dilation[0], geo.dilation[1], geo.dilation[2])
        // Padded input, x split into sx phases: value at padded column c lives in phase c % sx,
        // position c / sx; rows are sx·wq long with 16 values of slack for the last run's reads.
        let dp = d + 2 * pz, hp = h + 2 * py, wp = w + 2 * px
        let wq = (wp + sx - 1) / sx + 16, rowPitch = sx * wq, planePitch = hp * rowPitch, channelPitch = dp * planePitch
        // Written plane by plane in parallel, zeros included (a zero-filled allocation would be one
        // serial memset of the whole buffer first).
        let padded = [Float](unsafeUninitializedCapacity: n * cin * channelPitch) { pb, initialised in
            let pp = pb.baseAddress!
            Parallel.forEach(n * cin * dp, work: n * cin * channelPitch) { job in
                let zp = job % dp, nc = job / dp, z = zp - pz
                let plane = pp + nc * channelPitch + zp * planePitch
                guard z >= 0, z < d else { plane.initialize(repeating: 0, count: planePitch); return }
                for yp in 0..<hp {
                    let dst = plane + yp * rowPitch, y = yp - py
                    dst.initialize(repeating: 0, count: rowPitch)
                    guard y >= 0, y < h else { continue }
                    let src = x + (nc * d + z) * h * w + y * w
                    if sx == 1 {
                        (dst + px).update(from: src, count: w)
                    } else {
                        // phase p holds padded columns p, p + sx, …: input columns p − px, p − px + sx, …
                        for phase in 0..<sx {
                            var i = phase - px, q = 0
                            while i < 0 { i += sx; q += 1 }
                            let row = dst + phase * wq
                            while i < w { row[q] = src[i]; i += sx; q += 1 }
                        }
                    }
                }
            }
            initialised = n * cin * channelPitch
        }
        // Weights as [block][cin][tap][8 lanes] (zero lanes past cout), each tap's 8 values adjacent.
        let B = directBlock, blocks = (cout + B - 1) / B
        var wt = [Float](repeating: 0, count: blocks * cin * taps * B)
        for co in 0..<cout { for ci in 0..<cin { for t in 0..<taps {
            wt[(((co / B) * cin + ci) * taps + t) * B + co % B] = weight[(co * cin + ci) * taps + t]
        } } }
        // Each tap's offset within a channel: plane and row of the tap, phase and position along x.
        var tapOffsets = [Int]()
        for a in 0..<kd { for b in 0..<kh { for c in 0..<kw {
            let cx = c * dx
            tapOffsets.append(a * dz * planePitch + b * dy * rowPitch + (cx % sx) * wq + cx / sx)
        } } }
        let outPlane = oh * ow, outVolume = od * outPlane
        let out = [Float](unsafeUninitializedCapacity: n * cout * outVolume) { ob, initialised in
            padded.withUnsafeBufferPointer { pb in wt.withUnsafeBufferPointer { wb in tapOffsets.withUnsafeBufferPointer { tb in
                let (pp, wp0, offs, op) = (pb.baseAddress!, wb.baseAddress!, tb.baseAddress!, ob.baseAddress!)
                Parallel.forEach(n * od * oh, work: n * cout * outVolume * cin * taps) { job in
                    let y = job % oh, z = (job / oh) % od, b = job / (oh * od)
                    let rowBase = pp + b * cin * channelPitch + z * sz * planePitch + y * sy * rowPitch
                    for blk in 0..<blocks {
                        let wBlock = wp0 + blk * cin * taps * B
                        let co0 = blk * B, lanes = min(B, cout - co0)
                        var xs = 0
                        while xs < ow {
                            var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                                       SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                            // ≤ 4 channels: accumulators 0–3 take voxels xs…xs+7 and 4–7 the next 8,
                            // so no register carries an empty channel; else 8 channels, 8 voxels.
                            let twoRuns = lanes <= 4
                            for ci in 0..<cin {
                                let src = rowBase + ci * channelPitch + xs
                                let wc = wBlock + ci * taps * B
                                for t in 0..<taps {
                                    let k = wc + t * B
                                    let v = UnsafeRawPointer(src + offs[t]).loadUnaligned(as: SIMD8<Float>.self)
                                    if twoRuns {
                                        let u = UnsafeRawPointer(src + offs[t] + 8).loadUnaligned(as: SIMD8<Float>.self)
                                        #if GANTRY_FMA
                                        acc.0 = acc.0.addingProduct(v, k[0]); acc.1 = acc.1.addingProduct(v, k[1])
                                        acc.2 = acc.2.addingProduct(v, k[2]); acc.3 = acc.3.addingProduct(v, k[3])
                                        acc.4 = acc.4.addingProduct(u, k[0]); acc.5 = acc.5.addingProduct(u, k[1])
                                        acc.6 = acc.6.addingProduct(u, k[2]); acc.7 = acc.7.addingProduct(u, k[3])
                                        #else
                                        acc.0 += v * k[0]; acc.1 += v * k[1]; acc.2 += v * k[2]; acc.3 += v * k[3]
                                        acc.4 += u * k[0]; acc.5 += u * k[1]; acc.6 += u * k[2]; acc.7 += u * k[3]
                                        #endif
                                    } else {
                                        #if GANTRY_FMA
                                        // hardware FMA (Package.swift builds for x86-64-v3 where the CPU has it)
                                        acc.0 = acc.0.addingProduct(v, k[0]); acc.1 = acc.1.addingProduct(v, k[1])
                                        acc.2 = acc.2.addingProduct(v, k[2]); acc.3 = acc.3.addingProduct(v, k[3])
                                        acc.4 = acc.4.addingProduct(v, k[4]); acc.5 = acc.5.addingProduct(v, k[5])
                                        acc.6 = acc.6.addingProduct(v, k[6]); acc.7 = acc.7.addingProduct(v, k[7])
                                        #else
                                        // without it `addingProduct` is a library call per lane: multiply, then add
                                        acc.0 += v * k[0]; acc.1 += v * k[1]; acc.2 += v * k[2]; acc.3 += v * k[3]
                                        acc.4 += v * k[4]; acc.5 += v * k[5]; acc.6 += v * k[6]; acc.7 += v * k[7]
                                        #endif
                                    }
                                }
                            }
                            withUnsafeBytes(of: &acc) { raw in
                                let r = raw.bindMemory(to: Float.self).baseAddress!
                                for j in 0..<lanes {
                                    let dst = op + ((b * cout + co0 + j) * od + z) * outPlane + y * ow + xs
                                    let beta = bias?[co0 + j] ?? 0
                                    for i in 0..<min(8, ow - xs) { dst[i] = r[j * 8 + i] + beta }
                                    if twoRuns { for i in 0..<min(8, max(0, ow - xs - 8)) { dst[8 + i] = r[(4 + j) * 8 + i] + beta } }
                                }
                            }
                            xs += twoRuns ? 16 : 8
                        }
                    }
                }
            } } }
            initialised = n * cout * outVolume
        }
        return out
    }
}
