import Foundation
import GantryCore

/// The stride-1 weight gradient with vectors across output channels (9–32 of them, AVX-512
/// builds), for kernels three taps wide along x: dW[t][co][ci] = Σ_q dY[co][q] · X[ci][q + offset_t].
/// `weightGradientRun` keeps vectors of positions and must sum each one horizontally at the end
/// of a run, and its unaligned X loads straddle cache lines; here dY of a chunk of positions is
/// transposed to [position][channel], and each tap row (input channel, plane and row of the
/// kernel) slides along the chunk as in `directSlidingRow`: input position p is one broadcast
/// feeding the row's three taps, which pair it with dY at q = p, p − 1, p − 2 (those dY vectors
/// rotate in registers). Several tap rows go at once — 6 with one lane of channels, 3 with two —
/// so 18 accumulators are fed by 7 or 5 loads per position, and the sums are whole weight-gradient
/// vectors (no horizontal reduction).
/// Measured (A/B, CPU time): conv3d 32 → 32 at 64³ forward + backward 0.78× with the forward kernels
/// of the same kind (`directChannelsRow`), before tap rows were grouped.
extension Tensor {
    /// Positions of the padded layout per chunk: the chunk's transposed dY (≤ 64 KB) stays in L2
    /// while every tap row passes over it, and dY is read from memory in runs long enough for the
    /// hardware prefetcher (128 positions, 16 KB in L1, measured 1.07–1.08× the CPU time of 256–1024:
    /// the transposition's loads waited on memory).
    static let channelGradientChunk = 512

    /// dW[t][co][ci] += Σ_q dY[co][q] · X[ci][q + offsets[t]] over positions `range` of the padded
    /// layout (`PaddedGeometry`: positions past a row's end carry dY = 0), as `weightGradientRun`.
    /// dY is read in place from the gradient (channels `outPitch` apart, output layout of `geo`).
    static func weightGradientChannels(dy: UnsafePointer<Float>, outPitch: Int, geometry geo: PaddedGeometry, x: UnsafePointer<Float>, xPitch: Int,
                                       coutG: Int, cg: Int, range: Range<Int>, offsets: [Int], into dw: UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount, lanes = coutG <= L ? 1 : 2, W = lanes * L, Q = channelGradientChunk
        let taps = offsets.count, rowsPerChannel = taps / 3
        let rowStarts = (0..<cg).flatMap { ci in (0..<rowsPerChannel).map { ci * xPitch + offsets[3 * $0] } }
        let G = lanes == 1 ? 6 : 3, rows = rowStarts.count
        // dY of the chunk: position q0 + i at lanes (i + 2)·lanes…; the two positions after it stay zero
        let T = UnsafeMutablePointer<Lane>.allocate(capacity: lanes * (Q + 4))
        // sums of tap row r, tap c, lane l at (3r + c)·lanes + l; a group past the last row adds into row `rows` (discarded)
        let sums = UnsafeMutablePointer<Lane>.allocate(capacity: 3 * lanes * (rows + 1))
        defer { T.deallocate(); sums.deallocate() }
        T.initialize(repeating: Lane(), count: lanes * (Q + 4))
        sums.initialize(repeating: Lane(), count: 3 * lanes * (rows + 1))
        let tf = UnsafeMutableRawPointer(T)
        var q0 = range.lowerBound
        while q0 < range.upperBound {
            let len = min(Q, range.upperBound - q0)
            // Position q of the padded layout is output voxel (q / hp·wp, q / wp % hp, q % wp) where
            // that lies inside the output, else dY = 0 there. Channel by channel (sequential reads),
            // row segment by row segment, a vector of voxels at a time stored lane by lane (as a plain
            // loop the compiler vectorised the strided stores into scatters: 12 % of the kernel's
            // time; position by position, 32 read streams missed the cache: 15 %).
            for co in 0..<coutG {
                let dst = tf + (2 * W + co) * 4
                var q = q0
                while q < q0 + len {
                    let x = q % geo.wp, y = (q / geo.wp) % geo.hp, z = q / (geo.wp * geo.hp)
                    let rowEnd = min(q0 + len, q - x + geo.wp), inside = y < geo.oh && x < geo.ow ? min(rowEnd, q - x + geo.ow) - q : 0
                    let src = dy + co * outPitch + (z * geo.oh + y) * geo.ow + x, at = q - q0
                    var i = 0
                    while i + L <= inside {
                        let v = UnsafeRawPointer(src + i).loadUnaligned(as: Lane.self)
                        for j in 0..<L { dst.storeBytes(of: v[j], toByteOffset: (at + i + j) &* (W * 4), as: Float.self) }
                        i += L
                    }
                    while i < inside { dst.storeBytes(of: src[i], toByteOffset: (at + i) &* (W * 4), as: Float.self); i += 1 }
                    while i < rowEnd - q { dst.storeBytes(of: 0, toByteOffset: (at + i) &* (W * 4), as: Float.self); i += 1 }
                    q = rowEnd
                }
            }
            // a last, shorter chunk: the two positions after it read as zero
            (tf + (len + 2) * W * 4).initializeMemory(as: Float.self, repeating: 0, count: 2 * W)
            for r0 in stride(from: 0, to: rows, by: G) {
                func row(_ j: Int) -> (UnsafePointer<Float>, UnsafeMutablePointer<Lane>) {
                    r0 + j < rows ? (x + rowStarts[r0 + j] + q0, sums + 3 * lanes * (r0 + j)) : (x + rowStarts[rows - 1] + q0, sums + 3 * lanes * rows)
                }
                if lanes == 1 {
                    gradientRows1(T + 2, len: len, row(0), row(1), row(2), row(3), row(4), row(5))
                } else {
                    gradientRows2(T + 4, len: len, row(0), row(1), row(2))
                }
            }
            q0 += len
        }
        let sf = UnsafeRawPointer(sums)
        for ci in 0..<cg { for t in 0..<taps { for co in 0..<coutG {
            dw[(t * coutG + co) * cg + ci] += sf.load(fromByteOffset: ((ci * taps + t) * W + co) * 4, as: Float.self)
        } } }
    }

    /// Six tap rows × 3 taps, one lane of channels: positions 0..<len + 2 of the chunk (`t` at its first).
    @inline(__always)
    private static func gradientRows1(_ t: UnsafePointer<Lane>, len: Int,
                                      _ r0: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>), _ r1: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>),
                                      _ r2: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>), _ r3: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>),
                                      _ r4: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>), _ r5: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>)) {
        let (x0, x1, x2, x3, x4, x5) = (r0.0, r1.0, r2.0, r3.0, r4.0, r5.0)
        var s00 = Lane(), s01 = Lane(), s02 = Lane(), s10 = Lane(), s11 = Lane(), s12 = Lane()
        var s20 = Lane(), s21 = Lane(), s22 = Lane(), s30 = Lane(), s31 = Lane(), s32 = Lane()
        var s40 = Lane(), s41 = Lane(), s42 = Lane(), s50 = Lane(), s51 = Lane(), s52 = Lane()
        var d1 = Lane(), d2 = Lane()
        for i in 0..<(len + 2) {
            let d0 = t[i]
            slide3(x0[i], d0, d1, d2, &s00, &s01, &s02)
            slide3(x1[i], d0, d1, d2, &s10, &s11, &s12)
            slide3(x2[i], d0, d1, d2, &s20, &s21, &s22)
            slide3(x3[i], d0, d1, d2, &s30, &s31, &s32)
            slide3(x4[i], d0, d1, d2, &s40, &s41, &s42)
            slide3(x5[i], d0, d1, d2, &s50, &s51, &s52)
            d2 = d1; d1 = d0
        }
        r0.1[0] += s00; r0.1[1] += s01; r0.1[2] += s02
        r1.1[0] += s10; r1.1[1] += s11; r1.1[2] += s12
        r2.1[0] += s20; r2.1[1] += s21; r2.1[2] += s22
        r3.1[0] += s30; r3.1[1] += s31; r3.1[2] += s32
        r4.1[0] += s40; r4.1[1] += s41; r4.1[2] += s42
        r5.1[0] += s50; r5.1[1] += s51; r5.1[2] += s52
    }

    /// Three tap rows × 3 taps, two lanes of channels (a|b): positions 0..<len + 2 of the chunk.
    @inline(__always)
    private static func gradientRows2(_ t: UnsafePointer<Lane>, len: Int, _ r0: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>),
                                      _ r1: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>), _ r2: (UnsafePointer<Float>, UnsafeMutablePointer<Lane>)) {
        let (x0, x1, x2) = (r0.0, r1.0, r2.0)
        var s00a = Lane(), s00b = Lane(), s01a = Lane(), s01b = Lane(), s02a = Lane(), s02b = Lane()
        var s10a = Lane(), s10b = Lane(), s11a = Lane(), s11b = Lane(), s12a = Lane(), s12b = Lane()
        var s20a = Lane(), s20b = Lane(), s21a = Lane(), s21b = Lane(), s22a = Lane(), s22b = Lane()
        var d1a = Lane(), d1b = Lane(), d2a = Lane(), d2b = Lane()
        for i in 0..<(len + 2) {
            let d0a = t[2 * i], d0b = t[2 * i + 1]
            slide3(x0[i], d0a, d0b, d1a, d1b, d2a, d2b, &s00a, &s00b, &s01a, &s01b, &s02a, &s02b)
            slide3(x1[i], d0a, d0b, d1a, d1b, d2a, d2b, &s10a, &s10b, &s11a, &s11b, &s12a, &s12b)
            slide3(x2[i], d0a, d0b, d1a, d1b, d2a, d2b, &s20a, &s20b, &s21a, &s21b, &s22a, &s22b)
            d2a = d1a; d2b = d1b; d1a = d0a; d1b = d0b
        }
        r0.1[0] += s00a; r0.1[1] += s00b; r0.1[2] += s01a; r0.1[3] += s01b; r0.1[4] += s02a; r0.1[5] += s02b
        r1.1[0] += s10a; r1.1[1] += s10b; r1.1[2] += s11a; r1.1[3] += s11b; r1.1[4] += s12a; r1.1[5] += s12b
        r2.1[0] += s20a; r2.1[1] += s20b; r2.1[2] += s21a; r2.1[3] += s21b; r2.1[4] += s22a; r2.1[5] += s22b
    }
}
