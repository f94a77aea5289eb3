import Foundation
import GantryCore

/// Dense convolutions with few output channels (≤ 16: a U-Net's full-resolution levels, a network's
/// last layers), computed directly. As a GEMM these have M = Cout ≤ 16 rows against an operand of
/// Cin·k³ × voxels that OpenBLAS must pack before multiplying — each packed value then feeds only
/// M multiply-adds, so packing (and, when strided, im2col) costs more than the arithmetic: at 128³
/// a 4 → 4 3×3×3 layer spent most of its time copying. Here the input is zero-padded once, split
/// into stride phases along x (so every tap reads a contiguous run even for stride 2), and each
/// run of 2 lanes of output voxels (16 with AVX2, 32 with AVX-512) keeps 4 output channels in
/// registers while the Cin·k³ taps stream past: two vector loads and four broadcasts feed 8 fused
/// multiply-adds, and nothing else is copied.
#if GANTRY_AVX512
/// One register of output voxels: 16 floats with AVX-512 (Package.swift builds for x86-64-v4 where the CPU has it), else 8.
typealias Lane = SIMD16<Float>
#else
typealias Lane = SIMD8<Float>
#endif

extension Tensor {
    /// Tests and GANTRY_DIRECT=0 (A/B timing) turn the direct path off to compare with the GEMM paths.
    nonisolated(unsafe) public static var directEnabled = ProcessInfo.processInfo.environment["GANTRY_DIRECT"] != "0"

    /// Output channels per register block: 4 channels × 2 lanes (8 accumulators, as many as AVX2's
    /// 16 registers hold with the operands) needs 6 loads per 8 multiply-adds; 8 channels × 1 lane
    /// needed 9 and measured ~4 % more CPU time on the attention U-Net.
    static let directBlock = 4

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
        // position c / sx; rows are sx·wq long with two lanes of slack for the last run's reads.
        let dp = d + 2 * pz, hp = h + 2 * py, wp = w + 2 * px
        let L = Lane.scalarCount
        let wq = (wp + sx - 1) / sx + 2 * L, rowPitch = sx * wq, planePitch = hp * rowPitch, channelPitch = dp * planePitch
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
        // Weights as [block][cin][tap][B lanes] (zero lanes past cout), each tap's B values adjacent.
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
                    // Runs of voxels outside, channel blocks inside: a run's input (Cin·k² rows of 2 lanes)
                    // stays in L1 for every block instead of streaming in once per block.
                    for xs in stride(from: 0, to: ow, by: 2 * L) {
                        for blk in 0..<blocks {
                            let wBlock = wp0 + blk * cin * taps * B
                            let co0 = blk * B, lanes = min(B, cout - co0)
                            // accumulators 0–3: channels co0…co0+3 at voxels xs…xs+L−1; 4–7: the next L voxels
                            var acc = (Lane(), Lane(), Lane(), Lane(),
                                       Lane(), Lane(), Lane(), Lane())
                            for ci in 0..<cin {
                                let src = rowBase + ci * channelPitch + xs
                                let wc = wBlock + ci * taps * B
                                for t in 0..<taps {
                                    let k = wc + t * B
                                    let v = UnsafeRawPointer(src + offs[t]).loadUnaligned(as: Lane.self)
                                    let u = UnsafeRawPointer(src + offs[t] + L).loadUnaligned(as: Lane.self)
                                    #if GANTRY_FMA
                                    // hardware FMA (Package.swift builds for x86-64-v3 where the CPU has it)
                                    acc.0 = acc.0.addingProduct(v, k[0]); acc.1 = acc.1.addingProduct(v, k[1])
                                    acc.2 = acc.2.addingProduct(v, k[2]); acc.3 = acc.3.addingProduct(v, k[3])
                                    acc.4 = acc.4.addingProduct(u, k[0]); acc.5 = acc.5.addingProduct(u, k[1])
                                    acc.6 = acc.6.addingProduct(u, k[2]); acc.7 = acc.7.addingProduct(u, k[3])
                                    #else
                                    // without it `addingProduct` is a library call per lane: multiply, then add
                                    acc.0 += v * k[0]; acc.1 += v * k[1]; acc.2 += v * k[2]; acc.3 += v * k[3]
                                    acc.4 += u * k[0]; acc.5 += u * k[1]; acc.6 += u * k[2]; acc.7 += u * k[3]
                                    #endif
                                }
                            }
                            withUnsafeBytes(of: &acc) { raw in
                                let r = raw.bindMemory(to: Float.self).baseAddress!
                                for j in 0..<lanes {
                                    let dst = op + ((b * cout + co0 + j) * od + z) * outPlane + y * ow + xs
                                    let beta = bias?[co0 + j] ?? 0
                                    for i in 0..<min(L, ow - xs) { dst[i] = r[j * L + i] + beta }
                                    for i in 0..<min(L, max(0, ow - xs - L)) { dst[L + i] = r[(4 + j) * L + i] + beta }
                                }
                            }
                        }
                    }
                }
            } } }
            initialised = n * cout * outVolume
        }
        return out
    }
}
