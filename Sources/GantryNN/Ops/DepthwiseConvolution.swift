import Foundation
import GantryCore
import GantryLinearAlgebra

/// Depthwise stride-1 convolution (groups = channels, one filter per channel) done directly. Each
/// channel's input is zero-padded once into a buffer of padded width; in that layout every kernel
/// tap reads one flat offset from every output position (positions past a row's end are computed
/// and discarded), so the forward pass is one loop over the volume with four vectors of outputs
/// in registers while the taps stream past (`depthwiseRun`), instead of a 1-row GEMM on copied
/// patches (im2col) or thousands of row-sized calls. The input gradient is the same run over dY with
/// the offsets negated; the weight gradient one long dot product per tap.
extension Tensor {
    func depthwise(_ weight: Tensor, bias: Tensor?, n: Int, channels c: Int, geometry geo: PaddedGeometry, outShape: [Int]) -> Tensor {
        let taps = geo.kd * geo.kh * geo.kw, offsets = geo.offsets, span = geo.span
        let inVol = geo.d * geo.h * geo.w, outVol = geo.od * geo.oh * geo.ow, padVol = geo.dp * geo.hp * geo.wp
        let x = data, wt = weight.data
        var out = [Float](repeating: 0, count: n * c * outVol)
        x.withUnsafeBufferPointer { xb in wt.withUnsafeBufferPointer { wb in out.withUnsafeMutableBufferPointer { ob in
            let (xp, wp, op) = (xb.baseAddress!, wb.baseAddress!, ob.baseAddress!)
            Parallel.forEach(n * c) { job in
                var padded = [Float](repeating: 0, count: padVol)
                var acc = [Float](unsafeUninitializedCapacity: padVol) { _, k in k = padVol }
                padded.withUnsafeMutableBufferPointer { pb in acc.withUnsafeMutableBufferPointer { ab in offsets.withUnsafeBufferPointer { ofb in
                    geo.pad(xp + job * inVol, into: pb.baseAddress!)
                    Tensor.depthwiseRun(pb.baseAddress!, offsets: ofb.baseAddress!, taps: taps, weights: wp + (job % c) * taps, count: span, into: ab.baseAddress!)
                    geo.gatherOutput(ab.baseAddress!, into: op + job * outVol)
                } } }
            }
        } } }
        let negated = offsets.map { -$0 }, margin = offsets.max() ?? 0
        return Tensor.result(shape: outShape, data: consume out, bias: bias, parents: [self, weight]) { gy in
            var gx = [Float](repeating: 0, count: n * c * inVol)
            var gwJobs = [Float](repeating: 0, count: n * c * taps)
            gy.withUnsafeBufferPointer { gb in x.withUnsafeBufferPointer { xb in wt.withUnsafeBufferPointer { wb in
                gx.withUnsafeMutableBufferPointer { gxb in gwJobs.withUnsafeMutableBufferPointer { gwb in
                    let (gp, xp, wp, gxp, gwp) = (gb.baseAddress!, xb.baseAddress!, wb.baseAddress!, gxb.baseAddress!, gwb.baseAddress!)
                    Parallel.forEach(n * c) { job in
                        // dY in the padded-width layout with the discarded positions at zero, so they
                        // add nothing, after a margin of zeros as long as the furthest tap: dX (padded)
                        // at r is Σ_t w[t]·dY[r − offset_t], the forward run with offsets negated.
                        var dy = [Float](repeating: 0, count: margin + padVol), padded = [Float](repeating: 0, count: padVol)
                        var dxp = [Float](unsafeUninitializedCapacity: padVol) { _, k in k = padVol }
                        dy.withUnsafeMutableBufferPointer { db in padded.withUnsafeMutableBufferPointer { pb in dxp.withUnsafeMutableBufferPointer { xb2 in
                            negated.withUnsafeBufferPointer { nb in
                                let d0 = db.baseAddress! + margin
                                geo.scatterOutput(gp + job * outVol, into: d0)
                                geo.pad(xp + job * inVol, into: pb.baseAddress!)
                                Tensor.depthwiseRun(d0, offsets: nb.baseAddress!, taps: taps, weights: wp + (job % c) * taps, count: padVol, into: xb2.baseAddress!)
                                let dk = gwp + job * taps
                                for t in 0..<taps { dk[t] = BLAS.dot(span, d0, pb.baseAddress! + offsets[t]) }
                                geo.unpad(xb2.baseAddress!, into: gxp + job * inVol)
                            }
                        } } }
                    }
                } }
            } } }
            var gw = [Float](repeating: 0, count: c * taps)
            for job in 0..<(n * c) { for t in 0..<taps { gw[(job % c) * taps + t] += gwJobs[job * taps + t] } }
            self.accumulate(gx)
            weight.accumulate(gw)
        }
    }
}

extension Tensor {
    /// out[q] = Σ_t w[t] · x[q + offsets[t]] for q in 0..<count: 4 lanes of outputs accumulate in
    /// registers over the taps and are stored once. Replaced 27 saxpy passes (each reading and
    /// writing the whole output) over the volume.
    static func depthwiseRun(_ x: UnsafePointer<Float>, offsets: UnsafePointer<Int>, taps: Int, weights w: UnsafePointer<Float>, count: Int,
                             into out: UnsafeMutablePointer<Float>) {
        let L = Lane.scalarCount
        var q = 0
        while q + 4 * L <= count {
            var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane()
            for t in 0..<taps {
                let p = UnsafeRawPointer(x + q + offsets[t]), k = Lane(repeating: w[t])
                a0 = madd(a0, p.loadUnaligned(as: Lane.self), k)
                a1 = madd(a1, p.loadUnaligned(fromByteOffset: L * 4, as: Lane.self), k)
                a2 = madd(a2, p.loadUnaligned(fromByteOffset: 2 * L * 4, as: Lane.self), k)
                a3 = madd(a3, p.loadUnaligned(fromByteOffset: 3 * L * 4, as: Lane.self), k)
            }
            let o = UnsafeMutableRawPointer(out + q)
            o.storeBytes(of: a0, as: Lane.self); o.storeBytes(of: a1, toByteOffset: L * 4, as: Lane.self)
            o.storeBytes(of: a2, toByteOffset: 2 * L * 4, as: Lane.self); o.storeBytes(of: a3, toByteOffset: 3 * L * 4, as: Lane.self)
            q += 4 * L
        }
        while q < count {
            var s: Float = 0
            for t in 0..<taps { s = madd(s, x[q + offsets[t]], w[t]) }
            out[q] = s
            q += 1
        }
    }
}
