import Foundation
import GantryCore

/// The direct convolution with its vectors across output channels (17–32 of them: two AVX-512
/// lanes) instead of across voxels. `directRow` keeps 4 channels × 2 lanes of voxels in registers,
/// so each tap costs 4 weight broadcasts and 2–4 unaligned input loads (most straddle two cache
/// lines) for 8–16 multiply-adds, and every block of 4 channels re-reads the run's whole input;
/// here each tap costs 2 aligned weight loads and one 4-byte broadcast per voxel, and 13 voxels ×
/// 2 lanes are 26 accumulators: 15 loads feed 26 fused multiply-adds, each input value is read once
/// per row for all output channels. The taps go through in chunks whose weights (13.8 KB) stay in
/// L1 while every run of the row passes over them, the sums waiting in a row tile between chunks;
/// the tile is transposed into the channels-first output at the end.
/// Measured (A/B, CPU time, one 3×3×3 layer): 32 → 32 at 64³ 0.81× `directRow`'s time; at 32³
/// 0.90× and 16 → 32 at 32³ 0.67× the per-tap GEMMs that took those rows before.
/// Each voxel's terms are summed in the same order with the same fused multiply-adds as
/// `directRow`, so the two kernels give identical results.
extension Tensor {
    /// GANTRY_CHANNEL_VECTORS=0 turns the kernel off (A/B timing, tests comparing the kernels).
    #if GANTRY_AVX512
    nonisolated(unsafe) static var channelVectors = ProcessInfo.processInfo.environment["GANTRY_CHANNEL_VECTORS"] != "0"
    #else
    static let channelVectors = false  // 26 accumulators need AVX-512's 32 vector registers
    #endif

    /// Voxels per run: 13 × 2 accumulators + 2 weights + 2 broadcasts fill 30 of 32 registers, and
    /// 5 runs cover a 64-voxel row with 1 voxel to spare (12 would leave 8).
    static let channelRun = 13

    /// Terms (input channel, tap) per chunk: 4 channels of a 3×3×3 kernel, 108 × 2 lanes of weights.
    static let channelChunk = 108

    /// Whether `directChannelsRow` takes a convolution (one group) with `cout` output channels and
    /// rows of `width` voxels (narrower rows waste too much of a 13-voxel run; 16 or fewer channels leave
    /// the second lane empty, where `directRow` is better).
    static func channelVectorsApply(cout: Int, groups: Int, width: Int) -> Bool {
        directEnabled && channelVectors && groups == 1 && cout > Lane.scalarCount && cout <= 2 * Lane.scalarCount && width >= 24
    }

    /// Weights as [cin][tap][2 lanes of output channels] (zero past cout).
    static func channelWeights(cout: Int, cin: Int, taps: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
        let W = 2 * Lane.scalarCount
        var wt = [Float](repeating: 0, count: cin * taps * W)
        for co in 0..<cout { for ci in 0..<cin { for t in 0..<taps { wt[(ci * taps + t) * W + co] = value(co, ci, t) } } }
        return wt
    }

    /// One output row of `count` voxels for every output channel (`cout` ≤ 2 lanes). Input voxel i
    /// of term j (one input channel's tap, `flatten`) is `row[offsets[j] + i]`; the row must be
    /// readable 12 voxels past `count` (`DirectInput` rows carry two lanes of slack). Output
    /// channel co goes to `output(co)[0..<count]`.
    @inline(__always)
    static func directChannelsRow(_ row: UnsafePointer<Float>, offsets: [Int], weights: [Float], cout: Int, count: Int,
                                  bias: UnsafePointer<Float>?, output: (Int) -> UnsafeMutablePointer<Float>) {
        let R = channelRun, L = Lane.scalarCount, W = 2 * L, terms = offsets.count, runs = (count + R - 1) / R
        offsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            // the row's sums: voxel x's channels at lanes 2x, 2x + 1
            withUnsafeTemporaryAllocation(of: Lane.self, capacity: 2 * R * runs) { tile in
                let (offs, w0, sums) = (ob.baseAddress!, wb.baseAddress!, tile.baseAddress!)
                var first = 0
                while first < terms {
                    let last = min(terms, first + channelChunk)
                    for xs in stride(from: 0, to: count, by: R) {
                        let acc = sums + 2 * xs
                        // plain locals in one flat loop, as in `directRow` (no register copies)
                        var a0 = Lane(), b0 = Lane(), a1 = Lane(), b1 = Lane(), a2 = Lane(), b2 = Lane(), a3 = Lane(), b3 = Lane()
                        var a4 = Lane(), b4 = Lane(), a5 = Lane(), b5 = Lane(), a6 = Lane(), b6 = Lane(), a7 = Lane(), b7 = Lane()
                        var a8 = Lane(), b8 = Lane(), a9 = Lane(), b9 = Lane(), a10 = Lane(), b10 = Lane(), a11 = Lane(), b11 = Lane()
                        var a12 = Lane(), b12 = Lane()
                        if first > 0 {
                            a0 = acc[0]; b0 = acc[1]; a1 = acc[2]; b1 = acc[3]; a2 = acc[4]; b2 = acc[5]; a3 = acc[6]; b3 = acc[7]
                            a4 = acc[8]; b4 = acc[9]; a5 = acc[10]; b5 = acc[11]; a6 = acc[12]; b6 = acc[13]; a7 = acc[14]; b7 = acc[15]
                            a8 = acc[16]; b8 = acc[17]; a9 = acc[18]; b9 = acc[19]; a10 = acc[20]; b10 = acc[21]; a11 = acc[22]; b11 = acc[23]
                            a12 = acc[24]; b12 = acc[25]
                        }
                        let src = row + xs
                        var k = w0 + first * W, o = offs + first
                        let end = offs + last
                        while o < end {
                            let p = src + o.pointee
                            let w = UnsafeRawPointer(k).loadUnaligned(as: Lane.self), v = UnsafeRawPointer(k + L).loadUnaligned(as: Lane.self)
                            let x0 = Lane(repeating: p[0]); a0 = madd(a0, x0, w); b0 = madd(b0, x0, v)
                            let x1 = Lane(repeating: p[1]); a1 = madd(a1, x1, w); b1 = madd(b1, x1, v)
                            let x2 = Lane(repeating: p[2]); a2 = madd(a2, x2, w); b2 = madd(b2, x2, v)
                            let x3 = Lane(repeating: p[3]); a3 = madd(a3, x3, w); b3 = madd(b3, x3, v)
                            let x4 = Lane(repeating: p[4]); a4 = madd(a4, x4, w); b4 = madd(b4, x4, v)
                            let x5 = Lane(repeating: p[5]); a5 = madd(a5, x5, w); b5 = madd(b5, x5, v)
                            let x6 = Lane(repeating: p[6]); a6 = madd(a6, x6, w); b6 = madd(b6, x6, v)
                            let x7 = Lane(repeating: p[7]); a7 = madd(a7, x7, w); b7 = madd(b7, x7, v)
                            let x8 = Lane(repeating: p[8]); a8 = madd(a8, x8, w); b8 = madd(b8, x8, v)
                            let x9 = Lane(repeating: p[9]); a9 = madd(a9, x9, w); b9 = madd(b9, x9, v)
                            let x10 = Lane(repeating: p[10]); a10 = madd(a10, x10, w); b10 = madd(b10, x10, v)
                            let x11 = Lane(repeating: p[11]); a11 = madd(a11, x11, w); b11 = madd(b11, x11, v)
                            let x12 = Lane(repeating: p[12]); a12 = madd(a12, x12, w); b12 = madd(b12, x12, v)
                            o += 1; k += W
                        }
                        acc[0] = a0; acc[1] = b0; acc[2] = a1; acc[3] = b1; acc[4] = a2; acc[5] = b2; acc[6] = a3; acc[7] = b3
                        acc[8] = a4; acc[9] = b4; acc[10] = a5; acc[11] = b5; acc[12] = a6; acc[13] = b6; acc[14] = a7; acc[15] = b7
                        acc[16] = a8; acc[17] = b8; acc[18] = a9; acc[19] = b9; acc[20] = a10; acc[21] = b10; acc[22] = a11; acc[23] = b11
                        acc[24] = a12; acc[25] = b12
                    }
                    first = last
                }
                // transpose: output channel co of voxel x is float x·W + co of the tile
                for co in 0..<cout {
                    let dst = output(co), src = UnsafeRawPointer(sums) + co * 4, beta = bias?[co] ?? 0
                    for x in 0..<count { dst[x] = src.load(fromByteOffset: x * W * 4, as: Float.self) + beta }
                }
            }
        } }
    }
}

extension Tensor {
    /// Whether `weightGradientChannels` takes a stride-1 weight gradient: 17–32 output channels per
    /// group and a kernel of 3 × 3 taps per plane, contiguous along x (dilation 1 along y and x).
    static func channelWeightGradientApplies(coutG: Int, geometry geo: PaddedGeometry) -> Bool {
        directEnabled && channelVectors && coutG > Lane.scalarCount && coutG <= 2 * Lane.scalarCount
            && geo.kh == 3 && geo.kw == 3 && geo.dilation[2] == 1
    }

    /// Positions of the padded layout per chunk of `weightGradientChannels`: the chunk's dY, 32
    /// channels each, is 16 KB and stays in L1 while every input channel and plane of taps passes.
    static let channelGradientChunk = 128

    /// dW[t][co][ci] += Σ_q dY[co][q] · X[ci][q + offset_t] over positions `range` of the padded
    /// layout (as `weightGradientRun`), with the vectors across output channels: the chunk's dY is
    /// transposed to [q][channel] (two lanes, zero before and after the chunk), and for each input
    /// channel and plane of taps the 3 × 3 taps × 2 lanes are 18 accumulators. Position p of tap row
    /// b is one broadcast X[ci][p + offset(a, b)] feeding its three taps c, which pair it with dY at
    /// q = p − c: per position 3 broadcasts and 6 aligned dY loads feed 18 fused multiply-adds, and
    /// the sums are whole weight-gradient vectors (no horizontal reduction).
    static func weightGradientChannels(dy: UnsafePointer<Float>, dyPitch: Int, x: UnsafePointer<Float>, xPitch: Int, coutG: Int, cg: Int,
                                       range: Range<Int>, offsets: [Int], kd: Int, into dw: UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount, Q = channelGradientChunk, taps = kd * 9
        // dY of the chunk: lanes 2(i + 2), 2(i + 2) + 1 hold position q0 + i; two zero positions each side
        let T = UnsafeMutablePointer<Lane>.allocate(capacity: 2 * (Q + 4))
        let sums = UnsafeMutablePointer<Lane>.allocate(capacity: 2 * cg * taps)
        defer { T.deallocate(); sums.deallocate() }
        T.initialize(repeating: Lane(), count: 2 * (Q + 4))
        sums.initialize(repeating: Lane(), count: 2 * cg * taps)
        let tf = UnsafeMutableRawPointer(T)
        var q0 = range.lowerBound
        while q0 < range.upperBound {
            let len = min(Q, range.upperBound - q0)
            for co in 0..<coutG {
                let src = dy + co * dyPitch + q0, dst = tf + (4 * L + co) * 4
                for i in 0..<len { dst.storeBytes(of: src[i], toByteOffset: i &* (8 * L), as: Float.self) }
                // the two positions after the chunk read as zero (a last, shorter chunk overwrites less)
                dst.storeBytes(of: 0, toByteOffset: len &* (8 * L), as: Float.self)
                dst.storeBytes(of: 0, toByteOffset: (len + 1) &* (8 * L), as: Float.self)
            }
            for ci in 0..<cg { for a in 0..<kd {
                let row0 = x + ci * xPitch + offsets[a * 9] + q0, row1 = x + ci * xPitch + offsets[a * 9 + 3] + q0
                let row2 = x + ci * xPitch + offsets[a * 9 + 6] + q0
                // accumulators: tap (b, c), lanes a|b → s{b}{c}a / s{b}{c}b
                var s00a = Lane(), s00b = Lane(), s01a = Lane(), s01b = Lane(), s02a = Lane(), s02b = Lane()
                var s10a = Lane(), s10b = Lane(), s11a = Lane(), s11b = Lane(), s12a = Lane(), s12b = Lane()
                var s20a = Lane(), s20b = Lane(), s21a = Lane(), s21b = Lane(), s22a = Lane(), s22b = Lane()
                var t = T + 4  // position p = q0 + i: T[2(i + 2)]
                var d1a = Lane(), d1b = Lane(), d2a = Lane(), d2b = Lane()
                for i in 0..<(len + 2) {
                    let d0a = t[0], d0b = t[1]
                    let x0 = Lane(repeating: row0[i]), x1 = Lane(repeating: row1[i]), x2 = Lane(repeating: row2[i])
                    s00a = madd(s00a, x0, d0a); s00b = madd(s00b, x0, d0b); s01a = madd(s01a, x0, d1a); s01b = madd(s01b, x0, d1b)
                    s02a = madd(s02a, x0, d2a); s02b = madd(s02b, x0, d2b)
                    s10a = madd(s10a, x1, d0a); s10b = madd(s10b, x1, d0b); s11a = madd(s11a, x1, d1a); s11b = madd(s11b, x1, d1b)
                    s12a = madd(s12a, x1, d2a); s12b = madd(s12b, x1, d2b)
                    s20a = madd(s20a, x2, d0a); s20b = madd(s20b, x2, d0b); s21a = madd(s21a, x2, d1a); s21b = madd(s21b, x2, d1b)
                    s22a = madd(s22a, x2, d2a); s22b = madd(s22b, x2, d2b)
                    d2a = d1a; d2b = d1b; d1a = d0a; d1b = d0b
                    t += 2
                }
                let s = sums + 2 * (ci * taps + a * 9)
                s[0] += s00a; s[1] += s00b; s[2] += s01a; s[3] += s01b; s[4] += s02a; s[5] += s02b
                s[6] += s10a; s[7] += s10b; s[8] += s11a; s[9] += s11b; s[10] += s12a; s[11] += s12b
                s[12] += s20a; s[13] += s20b; s[14] += s21a; s[15] += s21b; s[16] += s22a; s[17] += s22b
            } }
            q0 += len
        }
        let sf = UnsafeRawPointer(sums)
        for ci in 0..<cg { for t in 0..<taps { for co in 0..<coutG {
            dw[(t * coutG + co) * cg + ci] += sf.load(fromByteOffset: ((ci * taps + t) * 2 * L + co) * 4, as: Float.self)
        } } }
    }
}
