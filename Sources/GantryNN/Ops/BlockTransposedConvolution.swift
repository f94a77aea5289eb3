import GantryCore
import GantryLinearAlgebra

/// Transposed convolution whose kernel equals its stride (no padding, dilation or output padding)
/// — the 2× up-sampling of U-Nets with `up_kernel_size = 2`. Each input voxel paints its own
/// k_d×k_h×k_w block of the output and blocks do not overlap, so the op is one GEMM per run of
/// input voxels, C [Cout/G·taps, L] = W_gᵀ · X [Cin/G, L], whose columns are copied to their blocks:
/// every output value is written exactly once (the general path sums overlapping col2im patches
/// into per-job copies of the whole output). Backward gathers dY into the same layout:
/// dX = W_g · C_dY, dW_g = Σ X · C_dYᵀ.
extension Tensor {
    /// Input rows (z, y) are the unit of work: a job takes consecutive rows of one sample and group.
    func blockTransposed(_ weight: Tensor, bias: Tensor?, groups g: Int, input x5: [Int], kernel k: [Int], outShape: [Int]) -> Tensor {
        BLAS.useSingleThreadInsideParallelJobs()
        let (n, cin, id, ih, iw) = (x5[0], x5[1], x5[2], x5[3], x5[4])
        let (kd, kh, kw) = (k[0], k[1], k[2]), taps = kd * kh * kw
        let cinG = cin / g, coutG = weight.shape[1], cout = coutG * g, K = coutG * taps
        let (od, oh, ow) = (id * kd, ih * kh, iw * kw), inVol = id * ih * iw, outVol = od * oh * ow
        let rows = id * ih, perRun = max(1, min(rows, 4096 / max(iw, 1))), runs = (rows + perRun - 1) / perRun
        let xData = data, wData = weight.data, biasData = bias?.data

        /// Calls `body(c, dst, row)` for every (output channel, tap, input row) of a run: `c` is the
        /// GEMM row (channel·taps + tap), `dst` that input row's first output value (every kw-th
        /// value belongs to it), `row` the input row's index within the run.
        func forEachRowOfBlocks(run r: Int, b: Int, gi: Int, _ body: (_ c: Int, _ dst: Int, _ row: Int) -> Void) {
            let r0 = r * perRun, r1 = min(rows, r0 + perRun)
            for co in 0..<coutG { for a in 0..<kd { for bb in 0..<kh { for cc in 0..<kw {
                let c = co * taps + (a * kh + bb) * kw + cc
                for row in r0..<r1 {
                    let z = row / ih, y = row % ih
                    body(c, (b * cout + gi * coutG + co) * outVol + ((z * kd + a) * oh + y * kh + bb) * ow + cc, row - r0)
                }
            } } } }
        }

        let y = [Float](unsafeUninitializedCapacity: n * cout * outVol) { yb, initialised in
            xData.withUnsafeBufferPointer { xb in wData.withUnsafeBufferPointer { wb in
                let (xp, wp, yp) = (xb.baseAddress!, wb.baseAddress!, yb.baseAddress!)
                Parallel.forEach(n * g * runs) { job in
                    let r = job % runs, gi = (job / runs) % g, b = job / (runs * g)
                    let len = (min(rows, (r + 1) * perRun) - r * perRun) * iw
                    let cBuf = UnsafeMutablePointer<Float>.allocate(capacity: K * len)
                    defer { cBuf.deallocate() }
                    BLAS.sgemm(transA: true, m: K, n: len, k: cinG, a: wp + gi * cinG * K, b: xp + (b * cin + gi * cinG) * inVol + r * perRun * iw,
                               c: cBuf, lda: K, ldb: inVol, ldc: len)
                    forEachRowOfBlocks(run: r, b: b, gi: gi) { c, dst, row in
                        let src = cBuf + c * len + row * iw, v = biasData?[gi * coutG + c / taps] ?? 0
                        var q = yp + dst
                        for x in 0..<iw { q.pointee = src[x] + v; q += kw }
                    }
                }
            } }
            initialised = n * cout * outVol
        }
        return Tensor.result(shape: outShape, data: y, bias: bias, biasApplied: true, parents: [self, weight]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            var partial = [Float](repeating: 0, count: n * g * runs * cinG * K)
            gy.withUnsafeBufferPointer { gb in xData.withUnsafeBufferPointer { xb in wData.withUnsafeBufferPointer { wb in
            gx.withUnsafeMutableBufferPointer { gxb in partial.withUnsafeMutableBufferPointer { pb in
                let (gp, xp, wp, gxp, pp) = (gb.baseAddress!, xb.baseAddress!, wb.baseAddress!, gxb.baseAddress!, pb.baseAddress!)
                Parallel.forEach(n * g * runs) { job in
                    let r = job % runs, gi = (job / runs) % g, b = job / (runs * g)
                    let len = (min(rows, (r + 1) * perRun) - r * perRun) * iw
                    let cBuf = UnsafeMutablePointer<Float>.allocate(capacity: K * len)
                    defer { cBuf.deallocate() }
                    forEachRowOfBlocks(run: r, b: b, gi: gi) { c, dst, row in
                        let out = cBuf + c * len + row * iw
                        var q = gp + dst
                        for x in 0..<iw { out[x] = q.pointee; q += kw }
                    }
                    let xs = (b * cin + gi * cinG) * inVol + r * perRun * iw
                    // dX [cinG, len] = W_g [cinG, K] · C; dW_g [cinG, K] = X [cinG, len] · Cᵀ (this job's share).
                    BLAS.sgemm(m: cinG, n: len, k: K, a: wp + gi * cinG * K, b: cBuf, c: gxp + xs, lda: K, ldb: len, ldc: inVol)
                    BLAS.sgemm(transB: true, m: cinG, n: K, k: len, a: xp + xs, b: cBuf, c: pp + job * cinG * K, lda: inVol, ldb: len, ldc: K)
                }
            } } } } }
            // Per-job weight gradients summed in job order (deterministic).
            var gw = [Float](repeating: 0, count: weight.count)
            for job in 0..<(n * g * runs) {
                let gi = (job / runs) % g
                for i in 0..<(cinG * K) { gw[gi * cinG * K + i] += partial[job * cinG * K + i] }
            }
            self.accumulate(gx)
            weight.accumulate(gw)
        }
    }
}
