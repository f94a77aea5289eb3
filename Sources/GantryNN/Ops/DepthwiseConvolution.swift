import COpenBLAS
import Foundation
import GantryCore

/// Depthwise stride-1 convolution (groups = channels, one filter per channel) done directly. Each
/// channel's input is zero-padded once into a buffer of padded width; in that layout every kernel
/// tap is one contiguous axpy over the whole volume (output positions past a row's end are
/// computed and discarded), so a 3×3×3 kernel costs 27 long vector operations per channel instead
/// of a 1-row GEMM on copied patches (im2col) or thousands of row-sized calls.
extension Tensor {
    func depthwise(_ weight: Tensor, bias: Tensor?, n: Int, channels c: Int, geometry geo: PaddedGeometry, outShape: [Int]) -> Tensor {
        let taps = geo.kd * geo.kh * geo.kw, offsets = geo.offsets, span = Int32(geo.span)
        let inVol = geo.d * geo.h * geo.w, outVol = geo.od * geo.oh * geo.ow, padVol = geo.dp * geo.hp * geo.wp
        let x = data, wt = weight.data
        var out = [Float](repeating: 0, count: n * c * outVol)
        x.withUnsafeBufferPointer { xb in wt.withUnsafeBufferPointer { wb in out.withUnsafeMutableBufferPointer { ob in
            let (xp, wp, op) = (xb.baseAddress!, wb.baseAddress!, ob.baseAddress!)
            Parallel.forEach(n * c) { job in
                var padded = [Float](repeating: 0, count: padVol), acc = [Float](repeating: 0, count: padVol)
                padded.withUnsafeMutableBufferPointer { pb in acc.withUnsafeMutableBufferPointer { ab in
                    geo.pad(xp + job * inVol, into: pb.baseAddress!)
                    let k = wp + (job % c) * taps
                    for t in 0..<taps { cblas_saxpy(span, k[t], pb.baseAddress! + offsets[t], 1, ab.baseAddress!, 1) }
                    geo.gatherOutput(ab.baseAddress!, into: op + job * outVol)
                } }
            }
        } } }
        return Tensor.result(shape: outShape, data: consume out, bias: bias, parents: [self, weight]) { gy in
            var gx = [Float](repeating: 0, count: n * c * inVol)
            var gwJobs = [Float](repeating: 0, count: n * c * taps)
            gy.withUnsafeBufferPointer { gb in x.withUnsafeBufferPointer { xb in wt.withUnsafeBufferPointer { wb in
                gx.withUnsafeMutableBufferPointer { gxb in gwJobs.withUnsafeMutableBufferPointer { gwb in
                    let (gp, xp, wp, gxp, gwp) = (gb.baseAddress!, xb.baseAddress!, wb.baseAddress!, gxb.baseAddress!, gwb.baseAddress!)
                    Parallel.forEach(n * c) { job in
                        // dY in the padded-width layout with the discarded positions at zero, so they add nothing.
                        var dy = [Float](repeating: 0, count: padVol), padded = dy, dxp = dy
                        dy.withUnsafeMutableBufferPointer { db in padded.withUnsafeMutableBufferPointer { pb in dxp.withUnsafeMutableBufferPointer { xb2 in
                            geo.scatterOutput(gp + job * outVol, into: db.baseAddress!)
                            geo.pad(xp + job * inVol, into: pb.baseAddress!)
                            let k = wp + (job % c) * taps, dk = gwp + job * taps
                            for t in 0..<taps {
                                cblas_saxpy(span, k[t], db.baseAddress!, 1, xb2.baseAddress! + offsets[t], 1)
                                dk[t] = cblas_sdot(span, db.baseAddress!, 1, pb.baseAddress! + offsets[t], 1)
                            }
                            geo.unpad(xb2.baseAddress!, into: gxp + job * inVol)
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
