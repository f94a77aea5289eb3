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
/// Stride-1 rows of kernels three taps wide go to the sliding kernels (`SlidingConvolution.swift`,
/// which also share each input value between neighbouring voxels); this one takes the rest —
/// strided or dilated along x, other kernel widths, where it beats both others (the rule and its
/// measurements: `ConvolutionBackend.takesChannelVectors`).
/// Each voxel's terms are summed in the same order with the same fused multiply-adds as
/// `directRow`, so the two kernels give identical results.
extension Tensor {
    /// Voxels per run: 13 × 2 accumulators + 2 weights + 2 broadcasts fill 30 of 32 registers, and
    /// 5 runs cover a 64-voxel row with 1 voxel to spare (12 would leave 8).
    static let channelRun = 13

    /// Terms (input channel, tap) per chunk: 4 channels of a 3×3×3 kernel, 108 × 2 lanes of weights.
    static let channelChunk = 108

    /// Weights as [cin][tap][`lanes` lanes of output channels] (zero past cout).
    static func channelWeights(cout: Int, cin: Int, taps: Int, lanes: Int = 2, _ value: (Int, Int, Int) -> Float) -> [Float] {
        let W = lanes * Lane.scalarCount
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
        let L = Lane.scalarCount, W = 2 * L
        offsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            let (offs, weights0) = (ob.baseAddress!, wb.baseAddress!)
            tiledRow(lanes: 2, run: channelRun, terms: offsets.count, chunk: channelChunk, cout: cout, count: count, bias: bias, output: output) { acc, xs, terms in
                // plain locals in one flat loop, as in `directRow` (no register copies)
                var a0 = Lane(), b0 = Lane(), a1 = Lane(), b1 = Lane(), a2 = Lane(), b2 = Lane(), a3 = Lane(), b3 = Lane()
                var a4 = Lane(), b4 = Lane(), a5 = Lane(), b5 = Lane(), a6 = Lane(), b6 = Lane(), a7 = Lane(), b7 = Lane()
                var a8 = Lane(), b8 = Lane(), a9 = Lane(), b9 = Lane(), a10 = Lane(), b10 = Lane(), a11 = Lane(), b11 = Lane()
                var a12 = Lane(), b12 = Lane()
                if terms.lowerBound > 0 {
                    a0 = acc[0]; b0 = acc[1]; a1 = acc[2]; b1 = acc[3]; a2 = acc[4]; b2 = acc[5]; a3 = acc[6]; b3 = acc[7]
                    a4 = acc[8]; b4 = acc[9]; a5 = acc[10]; b5 = acc[11]; a6 = acc[12]; b6 = acc[13]; a7 = acc[14]; b7 = acc[15]
                    a8 = acc[16]; b8 = acc[17]; a9 = acc[18]; b9 = acc[19]; a10 = acc[20]; b10 = acc[21]; a11 = acc[22]; b11 = acc[23]
                    a12 = acc[24]; b12 = acc[25]
                }
                let src = row + xs
                var k = weights0 + terms.lowerBound * W, o = offs + terms.lowerBound
                let end = offs + terms.upperBound
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
        } }
    }
}
