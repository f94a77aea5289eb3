import Foundation
import GantryCore
import GantryLinearAlgebra

extension Tensor {
    /// PyTorch conv_transpose2d / conv_transpose3d: weight `[Cin, Cout/groups, k…]`, stride, padding,
    /// dilation, output padding, groups. Few output channels (`ConvolutionBackend.transposed`) run by output phase
    /// (`convTransposeDirect`); otherwise it is the adjoint of a convolution (its input gradient),
    /// with the same column machinery: y = col2im(W_gᵀ · x) per input depth plane.
    public func convTranspose(_ weight: Tensor, bias: Tensor? = nil, _ p: ConvParameters = ConvParameters(), outputPadding: [Int] = [0, 0, 0]) throws -> Tensor {
        let lifted = try LiftedConv("conv transpose", input: shape, weight: weight.shape, p)
        let (is2D, x5, w5, sp, pd, dl) = (lifted.is2D, lifted.input, lifted.weight, lifted.stride, lifted.padding, lifted.dilation)
        let op = LiftedConv.depth(outputPadding, 0)
        let (n, cin, id, ih, iw) = (x5[0], x5[1], x5[2], x5[3], x5[4])
        let (wcin, coutG, kd, kh, kw) = (w5[0], w5[1], w5[2], w5[3], w5[4])
        let g = p.groups
        guard g >= 1, wcin == cin, cin % g == 0 else { throw GantryError.invalidArgument("conv transpose: weight \(weight.shape) does not fit \(cin) input channels, groups \(g)") }
        let cout = coutG * g, cinG = cin / g
        let od = (id - 1) * sp[0] - 2 * pd[0] + dl[0] * (kd - 1) + op[0] + 1
        let oh = (ih - 1) * sp[1] - 2 * pd[1] + dl[1] * (kh - 1) + op[1] + 1
        let ow = (iw - 1) * sp[2] - 2 * pd[2] + dl[2] * (kw - 1) + op[2] + 1
        guard n > 0, od > 0, oh > 0, ow > 0 else { throw GantryError.invalidArgument("conv transpose: output would be empty") }
        let backend = ConvolutionBackend.transposed(kernel: [kd, kh, kw], stride: sp, padding: pd, dilation: dl, outputPadding: op, cout: cout, groups: g, width: ow)
        if backend == .blocks {
            return blockTransposed(weight, bias: bias, groups: g, input: x5, kernel: [kd, kh, kw], outShape: is2D ? [n, cout, oh, ow] : [n, cout, od, oh, ow])
        }
        let outShape = is2D ? [n, cout, oh, ow] : [n, cout, od, oh, ow]
        // The convolution this is the adjoint of: input = y (cout channels), output = x (cin channels).
        let geo = Im2Col(c: coutG, d: od, h: oh, w: ow, kd: kd, kh: kh, kw: kw, od: id, oh: ih, ow: iw, stride: sp, padding: pd, dilation: dl)
        let K = coutG * kd * kh * kw, plane = ih * iw
        let xData = data, wData = weight.data
        BLAS.useSingleThreadInsideParallelJobs()
        let direct = backend == .directPhases
        let y = direct ? xData.withUnsafeBufferPointer { xb in wData.withUnsafeBufferPointer { wb in (bias?.data ?? []).withUnsafeBufferPointer { bb in
            Tensor.convTransposeDirect(xb.baseAddress!, n: n, cin: cin, inSize: [id, ih, iw], weight: wb.baseAddress!, cout: cout, kernel: [kd, kh, kw],
                                       stride: sp, padding: pd, dilation: dl, outSize: [od, oh, ow], bias: bias == nil ? nil : bb.baseAddress)
        } } } : Tensor.scatterTransposed(xData, weight: wData, n: n, groups: g, cin: cin, coutG: coutG, inPlanes: id, plane: plane, K: K, geometry: geo)
        let chunks = max(1, min(id, Parallel.threads))
        let lock = NSLock()
        return Tensor.result(shape: outShape, data: y, bias: bias, biasApplied: direct, parents: [self, weight]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            var perJob = [[Float]](repeating: [], count: n * g * chunks)
            gy.withUnsafeBufferPointer { gb in xData.withUnsafeBufferPointer { xb in wData.withUnsafeBufferPointer { wb in gx.withUnsafeMutableBufferPointer { gxb in
                let (gp, xp, wp, gxp) = (gb.baseAddress!, xb.baseAddress!, wb.baseAddress!, gxb.baseAddress!)
                Parallel.forEach(n * g * chunks) { job in
                    let ch = job % chunks, gi = (job / chunks) % g, b = job / (chunks * g)
                    var localGW = [Float](repeating: 0, count: cinG * K)
                    var cols = [Float](repeating: 0, count: K * plane)
                    for z in (id * ch / chunks)..<(id * (ch + 1) / chunks) {
                        geo.gather(gp + (b * cout + gi * coutG) * od * oh * ow, z: z, into: &cols)
                        // This job's input planes: dX written in place, X read in place (row stride = a channel's volume).
                        let plane0 = ((b * cin + gi * cinG) * id + z) * plane
                        cols.withUnsafeBufferPointer { cb in localGW.withUnsafeMutableBufferPointer { lw in
                            BLAS.sgemm(m: cinG, n: plane, k: K, a: wp + gi * cinG * K, b: cb.baseAddress!, c: gxp + plane0, ldc: id * plane)
                            BLAS.sgemm(transB: true, m: cinG, n: K, k: plane, a: xp + plane0, b: cb.baseAddress!, beta: 1, c: lw.baseAddress!, lda: id * plane)
                        } }
                    }
                    lock.lock(); perJob[job] = localGW; lock.unlock()
                }
            } } } }
            var gw = [Float](repeating: 0, count: weight.count)
            for job in 0..<(n * g * chunks) { let gi = (job / chunks) % g; for i in 0..<perJob[job].count { gw[gi * cinG * K + i] += perJob[job][i] } }
            self.accumulate(gx)
            weight.accumulate(gw)
        }
    }

    /// PReLU with one slope per channel (or a single shared slope).
    public func prelu(_ slope: Tensor) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard slope.count == 1 || slope.count == c else { throw GantryError.invalidArgument("prelu: \(slope.count) slopes for \(c) channels") }
        let slopes = slope.data, shared = slopes.count == 1
        let x = data
        // One fresh buffer written once per channel plane (no copy-then-modify pass).
        let y = x.withUnsafeBufferPointer { xb in
            let xp = xb.baseAddress!
            return Buffers.planes(n * c, inner: inner) { p, j in
                let a = slopes[shared ? 0 : j % c], src = xp + j * inner
                for i in 0..<inner { p[i] = src[i] < 0 ? src[i] * a : src[i] }
            }
        }
        return Tensor.result(shape: shape, data: y, parents: [self, slope]) { gy in
            var gx = gy
            var sums = [Float](repeating: 0, count: n * c)
            x.withUnsafeBufferPointer { xb in gy.withUnsafeBufferPointer { gb in gx.withUnsafeMutableBufferPointer { gxb in sums.withUnsafeMutableBufferPointer { sb in
                let (xp, gp, gxp, sp) = (xb.baseAddress!, gb.baseAddress!, gxb.baseAddress!, sb.baseAddress!)
                Parallel.forEach(n * c, work: n * c * inner) { j in
                    let a = slopes[shared ? 0 : j % c], o = j * inner
                    var s: Float = 0
                    for i in o..<(o + inner) where xp[i] < 0 { gxp[i] *= a; s += gp[i] * xp[i] }
                    sp[j] = s
                }
            } } } }
            var ga = [Float](repeating: 0, count: slopes.count)
            for j in 0..<(n * c) { ga[shared ? 0 : j % c] += sums[j] }
            self.accumulate(gx)
            slope.accumulate(ga)
        }
    }

    /// Dropout with a seeded mask (inverted scaling, as PyTorch in training); identity when not training.
    public func dropout(_ p: Float, training: Bool, seed: UInt64) -> Tensor {
        guard training, p > 0 else { return self }
        var g = SeededRandom(seed: seed)
        let keep = 1 - p
        let mask = (0..<count).map { _ in Float(g.uniform() < Double(keep) ? 1 / keep : 0) }
        return self * Tensor(shape: shape, data: mask)
    }
}

extension Tensor {
    /// The column path of `convTranspose`: per input plane, cols = W_gᵀ · x (K × plane) scattered
    /// into the output. Input plane z scatters into output planes z·s − p … z·s − p + (kd − 1)·dil,
    /// so planes P = ⌈extent / s⌉ apart never touch the same output plane: the planes run in P passes
    /// (z ≡ 0, 1, … mod P), each pass's planes in parallel, scattering straight into the output.
    /// Every output value receives its terms in a fixed order (pass by pass), so results do not
    /// depend on thread timing — and there are no per-thread output copies to clear and add up.
    static func scatterTransposed(_ xData: [Float], weight wData: [Float], n: Int, groups g: Int, cin: Int, coutG: Int, inPlanes id: Int,
                                  plane: Int, K: Int, geometry geo: Im2Col) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let cinG = cin / g, cout = coutG * g, outVol = geo.d * geo.h * geo.w
        let extent = geo.dilation[0] * (geo.kd - 1) + 1, passes = max(1, min(id, (extent + geo.stride[0] - 1) / geo.stride[0]))
        var y = [Float](repeating: 0, count: n * cout * outVol)
        y.withUnsafeMutableBufferPointer { yb in
            let yp = yb.baseAddress!
            for pass in 0..<passes {
                let planes = (id - pass + passes - 1) / passes
                Parallel.forEach(n * g * planes) { job in
                    let z = pass + (job % planes) * passes, gi = (job / planes) % g, b = job / (planes * g)
                    var cols = [Float](repeating: 0, count: K * plane)
                    // The input plane's channels are read in place (row stride = one channel's volume).
                    wData.withUnsafeBufferPointer { wb in xData.withUnsafeBufferPointer { xb in cols.withUnsafeMutableBufferPointer { cb in
                        BLAS.sgemm(transA: true, m: K, n: plane, k: cinG, a: wb.baseAddress! + gi * cinG * K,
                                   b: xb.baseAddress! + ((b * cin + gi * cinG) * id + z) * plane, c: cb.baseAddress!, ldb: id * plane)
                    } } }
                    geo.scatterAdd(cols, z: z, into: yp + (b * cout + gi * coutG) * outVol)
                }
            }
        }
        return y
    }
}
