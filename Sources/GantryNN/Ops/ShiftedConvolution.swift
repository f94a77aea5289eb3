import Foundation
import GantryCore
import GantryLinearAlgebra

/// Dense stride-1 convolutions without patch gathering. In the zero-padded layout of
/// `PaddedGeometry` a kernel tap reads the same flat offset from every output position, so the
/// convolution is a sum over taps of GEMMs W_tap [Cout, Cin] · X[:, q + offset_tap] over runs of
/// output positions q. im2col instead copies every input value k³ times into a buffer that for a
/// 32-channel 3³ kernel is 864 rows deep and streams through memory; here the operands of one run
/// (Cout × L accumulator, Cin × L input rows) stay in the core's cache across the taps, and the
/// only copy is the padded input (about (1 + 2p/size)³ of it). Positions past a row's or plane's
/// end are computed and discarded (about 6 % extra at 64² planes with padding 1).
extension Tensor {
    /// Output positions per work unit: the Cout × L accumulator and each Cin × L operand about
    /// 256 KB, well inside a Zen 4 core's 1 MB L2.
    static func shiftedRun(channels: Int, span: Int) -> Int {
        min(span, max(256, 65_536 / max(channels, 1)))
    }

    /// Weights [G·Cout/G, Cin/G, taps] → [G, taps, Cout/G, Cin/G]: one row-major matrix per tap.
    static func weightsByTap(_ weight: UnsafePointer<Float>, groups g: Int, coutG: Int, cg: Int, taps: Int) -> [Float] {
        var wt = [Float](repeating: 0, count: g * taps * coutG * cg)
        for gi in 0..<g { for co in 0..<coutG { for ci in 0..<cg { for t in 0..<taps {
            wt[((gi * taps + t) * coutG + co) * cg + ci] = weight[((gi * coutG + co) * cg + ci) * taps + t]
        } } } }
        return wt
    }

    /// Runs `body` on every sample's channels in the padded layout (n·c·dp·hp·wp values): the input
    /// itself when there is no padding (the layouts coincide), else a zero-padded copy.
    static func withPadded<R>(_ x: UnsafePointer<Float>, count nc: Int, geometry geo: PaddedGeometry, _ body: (UnsafePointer<Float>) -> R) -> R {
        if geo.padding.allSatisfy({ $0 == 0 }) { return body(x) }
        return padded(x, count: nc, geometry: geo).withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Every sample's channels in the padded layout (n·c·dp·hp·wp values).
    static func padded(_ x: UnsafePointer<Float>, count nc: Int, geometry geo: PaddedGeometry) -> [Float] {
        let inVol = geo.d * geo.h * geo.w, padVol = geo.dp * geo.hp * geo.wp
        // Each channel's job zeroes its own padded volume, then copies the input in: no serial
        // zero fill of the whole buffer first (37 MB for 32 channels at 64³).
        guard nc * padVol > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: nc * padVol) { ob, initialised in
            let op = ob.baseAddress!
            Parallel.forEach(nc) { j in
                (op + j * padVol).initialize(repeating: 0, count: padVol)
                geo.pad(x + j * inVol, into: op + j * padVol)
            }
            initialised = nc * padVol
        }
    }

    /// Stride-1 convolution (any padding, dilation, groups) on raw buffers, [n, cout, od, oh, ow].
    /// Work units are (sample, group, run of output positions); each writes its own outputs.
    /// With `bias`, each output channel gets its bias as it is written (no separate pass).
    /// Few input channels per group (a network's first layer, e.g. CIRIM's 4 → 128 5×5): the
    /// per-tap GEMMs would have K = Cin/G, so the taps are stacked into one K = Cin/G·taps operand
    /// per run (im2col of one run, copied from the padded rows) and multiplied once.
    /// With `relu` outputs are written as max(0, ·).
    static func convolveShifted(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int, groups g: Int,
                                geometry geo: PaddedGeometry, bias: UnsafePointer<Float>? = nil, relu: Bool = false) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let taps = geo.kd * geo.kh * geo.kw, offsets = geo.offsets, span = geo.span
        let cg = cin / g, coutG = cout / g
        let (oh, ow, hp, wp) = (geo.oh, geo.ow, geo.hp, geo.wp)
        let outVol = geo.od * oh * ow, padVol = geo.dp * hp * wp
        let run = shiftedRun(channels: max(coutG, cg), span: span), runs = (span + run - 1) / run
        let stacked = ConvolutionBackend.stacksTaps(channelsPerGroup: cg, taps: taps)
        let wt = stacked ? [] : weightsByTap(weight, groups: g, coutG: coutG, cg: cg, taps: taps)
        // Every output position lies in exactly one run, so the output needs no zero fill.
        let out = [Float](unsafeUninitializedCapacity: n * cout * outVol) { ob, initialised in
          withPadded(x, count: n * cin, geometry: geo) { xpp in wt.withUnsafeBufferPointer { wb in
            let (wtp, op) = (wb.baseAddress, ob.baseAddress!)
            Parallel.forEach(n * g * runs) { job in
                let r = job % runs, gi = (job / runs) % g, b = job / (runs * g)
                let q0 = r * run, len = min(run, span - q0)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: coutG * len + (stacked ? cg * taps * len : 0))
                defer { scratch.deallocate() }
                do {
                    let ap = scratch, xs = xpp + (b * cin + gi * cg) * padVol + q0
                    if stacked {
                        let rows = scratch + coutG * len
                        for ci in 0..<cg { for t in 0..<taps { (rows + (ci * taps + t) * len).update(from: xs + ci * padVol + offsets[t], count: len) } }
                        BLAS.sgemm(m: coutG, n: len, k: cg * taps, a: weight + gi * coutG * cg * taps, b: rows, c: ap, lda: cg * taps, ldb: len, ldc: len)
                    } else {
                        for t in 0..<taps {
                            BLAS.sgemm(m: coutG, n: len, k: cg, a: wtp.unsafelyUnwrapped + (gi * taps + t) * coutG * cg, b: xs + offsets[t],
                                       beta: t == 0 ? 0 : 1, c: ap, lda: cg, ldb: padVol, ldc: len)
                        }
                    }
                    // Keep the positions inside the output, one row segment at a time.
                    let ob = op + (b * cout + gi * coutG) * outVol
                    var q = q0
                    while q < q0 + len {
                        let z = q / (hp * wp), y = (q / wp) % hp, xx = q % wp
                        let rowEnd = min(q0 + len, q - xx + wp)
                        if y < oh, xx < ow {
                            let count = min(rowEnd, q - xx + ow) - q, dst = (z * oh + y) * ow + xx
                            for co in 0..<coutG {
                                let (to, from) = (ob + co * outVol + dst, ap + co * len + (q - q0))
                                let v = bias?[gi * coutG + co] ?? 0
                                if relu {
                                    for i in 0..<count { to[i] = max(0, from[i] + v) }
                                } else if bias != nil {
                                    for i in 0..<count { to[i] = from[i] + v }
                                } else {
                                    to.update(from: from, count: count)
                                }
                            }
                        }
                        q = rowEnd
                    }
                }
            }
          } }
          initialised = n * cout * outVol
        }
        return out
    }

    /// Weight gradient of a stride-1 convolution: dW_tap = Σ_q dY[:, q] · X[:, q + offset_tap]ᵀ, with
    /// dY laid out on the padded grid (zeros at discarded positions). Per-job partial sums are added
    /// in job order, so the result does not depend on thread timing. Returns [G·Cout/G, Cin/G, taps].
    static func weightGradientShifted(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, n: Int, cin: Int, cout: Int, groups g: Int,
                                      geometry geo: PaddedGeometry) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let taps = geo.kd * geo.kh * geo.kw, offsets = geo.offsets, span = geo.span
        let cg = cin / g, coutG = cout / g
        let outVol = geo.od * geo.oh * geo.ow, padVol = geo.dp * geo.hp * geo.wp
        let backend = ConvolutionBackend.weightGradient(coutG: coutG, geometry: geo)
        let channels = backend == .channelVectors
        // Few input channels (a first layer, e.g. a RIM's 4 → 64 5×5): per-tap GEMMs would have
        // N = Cin/G, so the taps are stacked into one N = Cin/G·taps operand per run, as forward.
        let stacked = backend == .shiftedGEMM && ConvolutionBackend.stacksTaps(channelsPerGroup: cg, taps: taps)
        // dY in the padded-width layout, each channel zeroed and filled by its own job (as `padded`);
        // the channel-vector kernel reads the gradient in place instead
        let dy = channels ? [] : [Float](unsafeUninitializedCapacity: n * cout * span) { db, initialised in
            guard let dp = db.baseAddress else { return }
            Parallel.forEach(n * cout) { j in
                (dp + j * span).initialize(repeating: 0, count: span)
                geo.scatterOutput(gy + j * outVol, into: dp + j * span)
            }
            initialised = n * cout * span
        }
        let chunks = max(1, min(Parallel.threads, span / 4096))
        let jobs = n * g * chunks, per = taps * coutG * cg, run = shiftedRun(channels: max(coutG, cg), span: span)
        var partial = [Float](repeating: 0, count: jobs * per)
        let (direct, rowPairs) = if case .directRuns(let pairs) = backend { (true, pairs) } else { (false, false) }
        withPadded(x, count: n * cin, geometry: geo) { xpp in dy.withUnsafeBufferPointer { db in partial.withUnsafeMutableBufferPointer { pb in
            let pp = pb.baseAddress!
            Parallel.forEach(jobs) { job in
                let ch = job % chunks, gi = (job / chunks) % g, b = job / (chunks * g)
                let lo = span * ch / chunks, hi = span * (ch + 1) / chunks
                if channels {
                    weightGradientChannels(dy: gy + (b * cout + gi * coutG) * outVol, outPitch: outVol, geometry: geo, x: xpp + (b * cin + gi * cg) * padVol,
                                           xPitch: padVol, coutG: coutG, cg: cg, range: lo..<hi, offsets: offsets, into: pp + job * per)
                    return
                }
                let dp = db.baseAddress!
                let rows = stacked ? UnsafeMutablePointer<Float>.allocate(capacity: cg * taps * run) : nil
                defer { rows?.deallocate() }
                var q0 = lo
                while q0 < hi {
                    let len = min(run, hi - q0)
                    let dys = dp + (b * cout + gi * coutG) * span + q0, xs = xpp + (b * cin + gi * cg) * padVol + q0
                    if let rows {
                        for ci in 0..<cg { for t in 0..<taps { (rows + (ci * taps + t) * len).update(from: xs + ci * padVol + offsets[t], count: len) } }
                        // dW [coutG, cg·taps] += dY [coutG, len] · rowsᵀ [len, cg·taps] (the weight's own layout)
                        BLAS.sgemm(transB: true, m: coutG, n: cg * taps, k: len, a: dys, b: rows, beta: 1, c: pp + job * per, lda: span, ldb: len, ldc: cg * taps)
                    } else if direct {
                        weightGradientRun(dy: dys, dyPitch: span, x: xs, xPitch: padVol, coutG: coutG, cg: cg, len: len,
                                          offsets: offsets, kw: geo.kw, xStep: geo.dilation[2], rowPairs: rowPairs, into: pp + job * per)
                    } else {
                        for t in 0..<taps {
                            // dW_tap [coutG, cg] += dY [coutG, len] · X_tapᵀ [len, cg]
                            BLAS.sgemm(transB: true, m: coutG, n: cg, k: len, a: dys, b: xs + offsets[t], beta: 1,
                                       c: pp + job * per + t * coutG * cg, lda: span, ldb: padVol, ldc: cg)
                        }
                    }
                    q0 += len
                }
            }
        } } }
        var gw = [Float](repeating: 0, count: cout * cg * taps)
        for job in 0..<jobs {
            let gi = (job / chunks) % g
            if stacked {
                for i in 0..<per { gw[gi * per + i] += partial[job * per + i] }
                continue
            }
            for t in 0..<taps { for co in 0..<coutG { for ci in 0..<cg {
                gw[((gi * coutG + co) * cg + ci) * taps + t] += partial[job * per + (t * coutG + co) * cg + ci]
            } } }
        }
        return gw
    }
}
