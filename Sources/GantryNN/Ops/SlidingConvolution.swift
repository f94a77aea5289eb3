import Foundation
import GantryCore

/// The direct convolution with vectors across output channels for kernels three taps wide along x
/// at stride 1 and dilation 1 (every 3×3×3 layer of a U-Net but the strided ones). Neighbouring
/// output voxels share input values: voxel r's tap c reads input r + c, so one broadcast of input
/// position p serves taps 0, 1 and 2 of voxels p, p − 1 and p − 2. The kernel keeps a run of
/// voxels' channel vectors in 22 accumulators and, for each (input channel, tap row), loads the
/// row's three weight vectors (per lane) and slides along the run: 3 + 24 loads feed 66 fused
/// multiply-adds with one lane of channels (16), 6 + 13 loads feed 66 with two (`directChannelsRow`,
/// without the sharing: 15 loads per 26). Tap rows go through in chunks whose weights stay in L1
/// while every run of the row passes, the sums waiting in the row tile (`storeTile` transposes it
/// into the channels-first output). Each voxel still sums its terms in (channel, tap) order with
/// the same fused multiply-adds as `directRow`, so all these kernels agree bit for bit.
extension Tensor {
    /// Tap rows per chunk: 4 input channels of a 3×3×3 kernel (two lanes: 36 × 3 × 128 B = 13.8 KB of weights).
    static let slidingChunk = 36

    /// Writes the row tile (voxel x's channels in floats x·W…x·W + cout − 1, W = `lanes` lanes)
    /// to the channels-first output rows, adding the bias.
    @inline(__always)
    static func storeTile(_ tile: UnsafePointer<Lane>, lanes: Int, cout: Int, count: Int, bias: UnsafePointer<Float>?,
                          output: (Int) -> UnsafeMutablePointer<Float>) {
        let W = lanes * Lane.scalarCount
        for co in 0..<cout {
            let dst = output(co), src = UnsafeRawPointer(tile) + co * 4, beta = bias?[co] ?? 0
            for x in 0..<count { dst[x] = src.load(fromByteOffset: x &* (W * 4), as: Float.self) + beta }
        }
    }

    /// The frame of the channel-vector kernels: a tile of the row's sums (`lanes` lanes per voxel),
    /// the terms in chunks of `chunk` and, within a chunk, runs of `run` voxels handed to
    /// `kernel(acc, xs, terms)` — the run starting at voxel xs, its sums at `acc` (to be read back
    /// unless `terms` starts at 0) — then the tile to the output (`storeTile`).
    @inline(__always)
    static func tiledRow(lanes: Int, run R: Int, terms: Int, chunk: Int, cout: Int, count: Int, bias: UnsafePointer<Float>?,
                         output: (Int) -> UnsafeMutablePointer<Float>, _ kernel: (UnsafeMutablePointer<Lane>, Int, Range<Int>) -> Void) {
        withUnsafeTemporaryAllocation(of: Lane.self, capacity: lanes * R * ((count + R - 1) / R)) { tile in
            let sums = tile.baseAddress!
            var first = 0
            while first < terms {
                let last = min(terms, first + chunk)
                for xs in stride(from: 0, to: count, by: R) { kernel(sums + lanes * xs, xs, first..<last) }
                first = last
            }
            storeTile(sums, lanes: lanes, cout: cout, count: count, bias: bias, output: output)
        }
    }

    // One broadcast input value into one, two or three taps' accumulators (one lane of channels);
    // the weight gradient uses them with dY in place of the weights.
    @inline(__always)
    static func slide1(_ x: Float, _ w0: Lane, _ r0: inout Lane) {
        r0 = madd(r0, Lane(repeating: x), w0)
    }
    @inline(__always)
    static func slide2(_ x: Float, _ w0: Lane, _ w1: Lane, _ r0: inout Lane, _ r1: inout Lane) {
        let v = Lane(repeating: x)
        r0 = madd(r0, v, w0); r1 = madd(r1, v, w1)
    }
    @inline(__always)
    static func slide3(_ x: Float, _ w0: Lane, _ w1: Lane, _ w2: Lane, _ r0: inout Lane, _ r1: inout Lane, _ r2: inout Lane) {
        let v = Lane(repeating: x)
        r0 = madd(r0, v, w0); r1 = madd(r1, v, w1); r2 = madd(r2, v, w2)
    }
    // The same with two lanes of channels (weights w|v, accumulators a|b).
    @inline(__always)
    static func slide1(_ x: Float, _ w0: Lane, _ v0: Lane, _ a0: inout Lane, _ b0: inout Lane) {
        let s = Lane(repeating: x)
        a0 = madd(a0, s, w0); b0 = madd(b0, s, v0)
    }
    @inline(__always)
    static func slide2(_ x: Float, _ w0: Lane, _ v0: Lane, _ w1: Lane, _ v1: Lane,
                       _ a0: inout Lane, _ b0: inout Lane, _ a1: inout Lane, _ b1: inout Lane) {
        let s = Lane(repeating: x)
        a0 = madd(a0, s, w0); b0 = madd(b0, s, v0); a1 = madd(a1, s, w1); b1 = madd(b1, s, v1)
    }
    @inline(__always)
    static func slide3(_ x: Float, _ w0: Lane, _ v0: Lane, _ w1: Lane, _ v1: Lane, _ w2: Lane, _ v2: Lane,
                       _ a0: inout Lane, _ b0: inout Lane, _ a1: inout Lane, _ b1: inout Lane, _ a2: inout Lane, _ b2: inout Lane) {
        let s = Lane(repeating: x)
        a0 = madd(a0, s, w0); b0 = madd(b0, s, v0); a1 = madd(a1, s, w1); b1 = madd(b1, s, v1); a2 = madd(a2, s, w2); b2 = madd(b2, s, v2)
    }

    // The kernels: one output row of `count` voxels. Tap row j (input channel, plane, row of the
    // kernel) starts at `row[rowOffsets[j]]`; its weights are 3 taps × W floats (`channelWeights`).
    // The row must be readable 23 voxels past `count` (`DirectInput` rows carry two lanes of slack).

    /// ≤ 16 output channels (one lane): 22 voxels in 22 accumulators.
    @inline(__always)
    static func directSlidingRow(_ row: UnsafePointer<Float>, rowOffsets: [Int], weights: [Float], cout: Int, count: Int,
                                 bias: UnsafePointer<Float>?, output: (Int) -> UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount, W = L
        rowOffsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            let (offs, weights0) = (ob.baseAddress!, wb.baseAddress!)
            tiledRow(lanes: 1, run: 22, terms: rowOffsets.count, chunk: slidingChunk, cout: cout, count: count, bias: bias, output: output) { acc, xs, terms in
                var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane(), a4 = Lane(), a5 = Lane(), a6 = Lane(), a7 = Lane()
                var a8 = Lane(), a9 = Lane(), a10 = Lane(), a11 = Lane(), a12 = Lane(), a13 = Lane(), a14 = Lane(), a15 = Lane()
                var a16 = Lane(), a17 = Lane(), a18 = Lane(), a19 = Lane(), a20 = Lane(), a21 = Lane()
                if terms.lowerBound > 0 {
                    a0 = acc[0]; a1 = acc[1]; a2 = acc[2]; a3 = acc[3]; a4 = acc[4]; a5 = acc[5]; a6 = acc[6]; a7 = acc[7]
                    a8 = acc[8]; a9 = acc[9]; a10 = acc[10]; a11 = acc[11]; a12 = acc[12]; a13 = acc[13]; a14 = acc[14]; a15 = acc[15]
                    a16 = acc[16]; a17 = acc[17]; a18 = acc[18]; a19 = acc[19]; a20 = acc[20]; a21 = acc[21]
                }
                let src = row + xs
                var k = weights0 + terms.lowerBound * 3 * W, o = offs + terms.lowerBound
                let end = offs + terms.upperBound
                while o < end {
                    let p = src + o.pointee
                    let w0 = UnsafeRawPointer(k).loadUnaligned(as: Lane.self), w1 = UnsafeRawPointer(k + L).loadUnaligned(as: Lane.self)
                    let w2 = UnsafeRawPointer(k + 2 * L).loadUnaligned(as: Lane.self)
                    slide1(p[0], w0, &a0)
                    slide2(p[1], w0, w1, &a1, &a0)
                    slide3(p[2], w0, w1, w2, &a2, &a1, &a0)
                    slide3(p[3], w0, w1, w2, &a3, &a2, &a1)
                    slide3(p[4], w0, w1, w2, &a4, &a3, &a2)
                    slide3(p[5], w0, w1, w2, &a5, &a4, &a3)
                    slide3(p[6], w0, w1, w2, &a6, &a5, &a4)
                    slide3(p[7], w0, w1, w2, &a7, &a6, &a5)
                    slide3(p[8], w0, w1, w2, &a8, &a7, &a6)
                    slide3(p[9], w0, w1, w2, &a9, &a8, &a7)
                    slide3(p[10], w0, w1, w2, &a10, &a9, &a8)
                    slide3(p[11], w0, w1, w2, &a11, &a10, &a9)
                    slide3(p[12], w0, w1, w2, &a12, &a11, &a10)
                    slide3(p[13], w0, w1, w2, &a13, &a12, &a11)
                    slide3(p[14], w0, w1, w2, &a14, &a13, &a12)
                    slide3(p[15], w0, w1, w2, &a15, &a14, &a13)
                    slide3(p[16], w0, w1, w2, &a16, &a15, &a14)
                    slide3(p[17], w0, w1, w2, &a17, &a16, &a15)
                    slide3(p[18], w0, w1, w2, &a18, &a17, &a16)
                    slide3(p[19], w0, w1, w2, &a19, &a18, &a17)
                    slide3(p[20], w0, w1, w2, &a20, &a19, &a18)
                    slide3(p[21], w0, w1, w2, &a21, &a20, &a19)
                    slide2(p[22], w1, w2, &a21, &a20)
                    slide1(p[23], w2, &a21)
                    o += 1; k += 3 * W
                }
                acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3; acc[4] = a4; acc[5] = a5; acc[6] = a6; acc[7] = a7
                acc[8] = a8; acc[9] = a9; acc[10] = a10; acc[11] = a11; acc[12] = a12; acc[13] = a13; acc[14] = a14; acc[15] = a15
                acc[16] = a16; acc[17] = a17; acc[18] = a18; acc[19] = a19; acc[20] = a20; acc[21] = a21
            }
        } }
    }

    /// 17–32 output channels (two lanes): 11 voxels × 2 lanes in 22 accumulators.
    @inline(__always)
    static func directSlidingRowPair(_ row: UnsafePointer<Float>, rowOffsets: [Int], weights: [Float], cout: Int, count: Int,
                                     bias: UnsafePointer<Float>?, output: (Int) -> UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount, W = 2 * L
        rowOffsets.withUnsafeBufferPointer { ob in weights.withUnsafeBufferPointer { wb in
            let (offs, weights0) = (ob.baseAddress!, wb.baseAddress!)
            tiledRow(lanes: 2, run: 11, terms: rowOffsets.count, chunk: slidingChunk, cout: cout, count: count, bias: bias, output: output) { acc, xs, terms in
                var a0 = Lane(), b0 = Lane(), a1 = Lane(), b1 = Lane(), a2 = Lane(), b2 = Lane(), a3 = Lane(), b3 = Lane()
                var a4 = Lane(), b4 = Lane(), a5 = Lane(), b5 = Lane(), a6 = Lane(), b6 = Lane(), a7 = Lane(), b7 = Lane()
                var a8 = Lane(), b8 = Lane(), a9 = Lane(), b9 = Lane(), a10 = Lane(), b10 = Lane()
                if terms.lowerBound > 0 {
                    a0 = acc[0]; b0 = acc[1]; a1 = acc[2]; b1 = acc[3]; a2 = acc[4]; b2 = acc[5]; a3 = acc[6]; b3 = acc[7]
                    a4 = acc[8]; b4 = acc[9]; a5 = acc[10]; b5 = acc[11]; a6 = acc[12]; b6 = acc[13]; a7 = acc[14]; b7 = acc[15]
                    a8 = acc[16]; b8 = acc[17]; a9 = acc[18]; b9 = acc[19]; a10 = acc[20]; b10 = acc[21]
                }
                let src = row + xs
                var k = weights0 + terms.lowerBound * 3 * W, o = offs + terms.lowerBound
                let end = offs + terms.upperBound
                while o < end {
                    let p = src + o.pointee
                    let w0 = UnsafeRawPointer(k).loadUnaligned(as: Lane.self), v0 = UnsafeRawPointer(k + L).loadUnaligned(as: Lane.self)
                    let w1 = UnsafeRawPointer(k + 2 * L).loadUnaligned(as: Lane.self), v1 = UnsafeRawPointer(k + 3 * L).loadUnaligned(as: Lane.self)
                    let w2 = UnsafeRawPointer(k + 4 * L).loadUnaligned(as: Lane.self), v2 = UnsafeRawPointer(k + 5 * L).loadUnaligned(as: Lane.self)
                    slide1(p[0], w0, v0, &a0, &b0)
                    slide2(p[1], w0, v0, w1, v1, &a1, &b1, &a0, &b0)
                    slide3(p[2], w0, v0, w1, v1, w2, v2, &a2, &b2, &a1, &b1, &a0, &b0)
                    slide3(p[3], w0, v0, w1, v1, w2, v2, &a3, &b3, &a2, &b2, &a1, &b1)
                    slide3(p[4], w0, v0, w1, v1, w2, v2, &a4, &b4, &a3, &b3, &a2, &b2)
                    slide3(p[5], w0, v0, w1, v1, w2, v2, &a5, &b5, &a4, &b4, &a3, &b3)
                    slide3(p[6], w0, v0, w1, v1, w2, v2, &a6, &b6, &a5, &b5, &a4, &b4)
                    slide3(p[7], w0, v0, w1, v1, w2, v2, &a7, &b7, &a6, &b6, &a5, &b5)
                    slide3(p[8], w0, v0, w1, v1, w2, v2, &a8, &b8, &a7, &b7, &a6, &b6)
                    slide3(p[9], w0, v0, w1, v1, w2, v2, &a9, &b9, &a8, &b8, &a7, &b7)
                    slide3(p[10], w0, v0, w1, v1, w2, v2, &a10, &b10, &a9, &b9, &a8, &b8)
                    slide2(p[11], w1, v1, w2, v2, &a10, &b10, &a9, &b9)
                    slide1(p[12], w2, v2, &a10, &b10)
                    o += 1; k += 3 * W
                }
                acc[0] = a0; acc[1] = b0; acc[2] = a1; acc[3] = b1; acc[4] = a2; acc[5] = b2; acc[6] = a3; acc[7] = b3
                acc[8] = a4; acc[9] = b4; acc[10] = a5; acc[11] = b5; acc[12] = a6; acc[13] = b6; acc[14] = a7; acc[15] = b7
                acc[16] = a8; acc[17] = b8; acc[18] = a9; acc[19] = b9; acc[20] = a10; acc[21] = b10
            }
        } }
    }

}
