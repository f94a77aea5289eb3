import GantryCore
import GantryLinearAlgebra

/// Winograd minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
/// Neural Networks", 2016): an m×m output tile of a 3×3 convolution costs α² = (m+2)² multiplies
/// per channel pair instead of 9m². The products become α² independent GEMMs
/// U_ξν [Cout, Cin] · V_ξν [Cin, tiles], with U = G g Gᵀ (filters) and V = Bᵀ d B (input tiles);
/// the output tile is Aᵀ M A. F(4×4, 3×3) does 4× fewer multiplies than direct convolution —
/// that, not a faster GEMM, is how a 2-core CPU gets well ahead of PyTorch's direct convolutions
/// on the RIM's 128-channel 3×3 layers (75 % of a CIRIM's work).
///
/// Dilation d is handled exactly: outputs of one phase (y mod d, x mod d) form an undilated
/// convolution over the input subsampled by d, so each phase is tiled on its own.
struct WinogradTransform {
    let m: Int
    var alpha: Int { m + 2 }
    /// Bᵀ (α×α), G (α×3), Aᵀ (m×α), row-major.
    let bt: [Float], g: [Float], at: [Float]

    /// F(2×2, 3×3): interpolation points 0, ±1; 2.25× fewer multiplies, errors at Float rounding.
    static let f2 = WinogradTransform(
        m: 2,
        bt: [1, 0, -1, 0,
             0, 1, 1, 0,
             0, -1, 1, 0,
             0, 1, 0, -1],
        g: [1, 0, 0,
            0.5, 0.5, 0.5,
            0.5, -0.5, 0.5,
            0, 0, 1],
        at: [1, 1, 1, 0,
             0, 1, -1, -1])

    /// F(4×4, 3×3): points 0, ±1, ±2; 4× fewer multiplies. Its transforms' coefficients reach 8,
    /// which costs about one and a half decimal digits of Float accuracy: measured 3–5e-6 of the
    /// output's scale against the direct convolution (1e-7) on 16–32 channels, well inside the
    /// 1e-4 PyTorch parity bar (WinogradTests).
    static let f4 = WinogradTransform(
        m: 4,
        bt: [4, 0, -5, 0, 1, 0,
             0, -4, -4, 1, 1, 0,
             0, 4, -4, -1, 1, 0,
             0, -2, -1, 2, 1, 0,
             0, 2, -1, -2, 1, 0,
             0, 4, 0, -5, 0, 1],
        g: [1.0 / 4, 0, 0,
            -1.0 / 6, -1.0 / 6, -1.0 / 6,
            -1.0 / 6, 1.0 / 6, -1.0 / 6,
            1.0 / 24, 1.0 / 12, 1.0 / 6,
            1.0 / 24, -1.0 / 12, 1.0 / 6,
            0, 0, 1],
        at: [1, 1, 1, 1, 1, 0,
             0, 1, -1, 2, -2, 0,
             0, 1, 1, 4, 4, 0,
             0, 1, -1, 8, -8, 1])

    /// U = G g Gᵀ for every filter, laid out [α², Cout, Cin] (one GEMM operand per ξν).
    func filters(_ w: UnsafePointer<Float>, cout: Int, cin: Int) -> [Float] {
        let a = alpha
        var u = [Float](repeating: 0, count: a * a * cout * cin)
        var tmp = [Float](repeating: 0, count: a * 3)
        for co in 0..<cout { for ci in 0..<cin {
            let k = w + (co * cin + ci) * 9
            for i in 0..<a { for j in 0..<3 { tmp[i * 3 + j] = g[i * 3] * k[j] + g[i * 3 + 1] * k[3 + j] + g[i * 3 + 2] * k[6 + j] } }
            for i in 0..<a { for j in 0..<a {
                u[((i * a + j) * cout + co) * cin + ci] = tmp[i * 3] * g[j * 3] + tmp[i * 3 + 1] * g[j * 3 + 1] + tmp[i * 3 + 2] * g[j * 3 + 2]
            } }
        } }
        return u
    }

    /// out[i] = base + Σ_k row[k] · src[offsets[k] + i] for i < count: one row of a transform matrix
    /// applied to `count` tiles at once (tiles are laid out so each operand is contiguous). The
    /// nonzero taps (2–5 for these matrices, at most α = 6) are summed in registers in one
    /// vectorised pass: one load per operand and one store per value.
    @inline(__always)
    /// With `rows` > 1 the same is done for `rows` runs, `srcStride` and `dstStride` apart (the taps
    /// chosen once).
    static func combine(_ row: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>, taps: Int, _ src: UnsafePointer<Float>,
                        into out: UnsafeMutablePointer<Float>, count: Int, base: Float = 0, rows: Int = 1, srcStride: Int = 0, dstStride: Int = 0) {
        precondition(taps <= 6, "Winograd transforms have at most 6 taps per row")
        var c = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0)), p = (src, src, src, src, src, src), nz = 0
        for k in 0..<taps where row[k] != 0 {
            let q = src + offsets[k]
            switch nz {
            case 0: c.0 = row[k]; p.0 = q
            case 1: c.1 = row[k]; p.1 = q
            case 2: c.2 = row[k]; p.2 = q
            case 3: c.3 = row[k]; p.3 = q
            case 4: c.4 = row[k]; p.4 = q
            default: c.5 = row[k]; p.5 = q
            }
            nz += 1
        }
        for r in 0..<rows {
            // Each row's operand pointers are formed before its loop, so the loop indexes by i
            // alone (an index d + i is overflow-checked per value and kept one of the vertical
            // passes scalar).
            let d = r &* srcStride, out = out + r &* dstStride
            let (s0, s1, s2, s3, s4, s5) = (p.0 + d, p.1 + d, p.2 + d, p.3 + d, p.4 + d, p.5 + d)
            switch nz {
            case 0: for i in 0..<count { out[i] = base }
            case 1: for i in 0..<count { out[i] = base + c.0 * s0[i] }
            case 2: for i in 0..<count { out[i] = base + c.0 * s0[i] + c.1 * s1[i] }
            case 3: for i in 0..<count { out[i] = base + c.0 * s0[i] + c.1 * s1[i] + c.2 * s2[i] }
            case 4: for i in 0..<count { out[i] = base + c.0 * s0[i] + c.1 * s1[i] + c.2 * s2[i] + c.3 * s3[i] }
            case 5: for i in 0..<count { out[i] = base + c.0 * s0[i] + c.1 * s1[i] + c.2 * s2[i] + c.3 * s3[i] + c.4 * s4[i] }
            default:
                for i in 0..<count { out[i] = base + c.0 * s0[i] + c.1 * s1[i] + c.2 * s2[i] + c.3 * s3[i] + c.4 * s4[i] + c.5 * s5[i] }
            }
        }
    }

    /// e[tx] = row[x0 + step·tx] for tx < count where the column falls inside the input's `w`
    /// columns; outside, zero (everywhere when `row` is nil: a row outside the input), except
    /// that the `edgeColumns` nearest each side repeat the row's edge value (replication padding;
    /// columns beyond it, which only tiles past the output read, stay zero as they would in a
    /// padded copy). One column phase of an input row, read from the unpadded input.
    @inline(__always)
    static func gather(_ row: UnsafePointer<Float>?, x0: Int, step: Int, w: Int, edgeColumns: Int = 0, into e: UnsafeMutablePointer<Float>, count: Int) {
        let lo = x0 >= 0 ? 0 : min(count, (-x0 + step - 1) / step)
        let hi = row == nil || x0 >= w ? lo : max(lo, min(count, (w - 1 - x0) / step + 1))
        guard let row else { e.initialize(repeating: 0, count: count); return }
        // Columns x0 + step·tx ≥ −edgeColumns for tx ≥ loEdge, < w + edgeColumns for tx < hiEdge.
        let loEdge = x0 >= -edgeColumns ? 0 : min(lo, (-edgeColumns - x0 + step - 1) / step)
        let hiEdge = x0 >= w + edgeColumns ? hi : max(hi, min(count, (w + edgeColumns - 1 - x0) / step + 1))
        // The zero runs are mostly one value (the band's unused last column): stored directly, as
        // a loop they became a memset call each (5 % of the transform).
        if loEdge == 1 { e[0] = 0 } else { for tx in 0..<loEdge { e[tx] = 0 } }
        for tx in loEdge..<lo { e[tx] = row[0] }
        if hi > lo {
            var q = row + x0 + step * lo
            for tx in lo..<hi { e[tx] = q.pointee; q += step }
        }
        for tx in hi..<hiEdge { e[tx] = row[w - 1] }
        if count - hiEdge == 1 { e[hiEdge] = 0 } else { for tx in hiEdge..<count { e[tx] = 0 } }
    }

    /// Offsets of consecutive operands `stride` apart.
    func strided(_ stride: Int) -> [Int] { (0..<alpha).map { $0 * stride } }
    /// Offsets of tile tx's k-th column in m de-interleaved column phases (tx1 values each): k mod m
    /// picks the phase, k / m the next tile.
    func phased(_ tx1: Int) -> [Int] { (0..<alpha).map { (k: Int) in (k % m) * tx1 + k / m } }
}

extension Tensor {
    /// Stride-1 3×3 convolution by F(4×4, 3×3), [n, cout, od, oh, ow] (od planes convolved alike).
    /// Work units are the tiling's bands; each transforms its input tiles, runs one GEMM per
    /// transform position and writes its own output tiles, so the result does not depend on
    /// thread timing.
    /// `edges` says what the padding holds; with `relu` outputs are written as max(0, ·).
    static func convolveWinograd(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int,
                                 geometry geo: PaddedGeometry, transform tf: WinogradTransform = .f4, bias: UnsafePointer<Float>? = nil,
                                 edges: PaddingEdges = .zeros, relu: Bool = false) -> [Float] {
        // About 320 tiles per unit (the GEMMs' N): a RIM's 64-channel dilated layer at 320² took
        // 0.80× the time of 80-tile units, 160 and 640 were level with 320 (AMD EPYC, AVX2).
        let tiling = WinogradTiling(tf, geometry: geo, samples: n, lanes: 320, edges: edges, relu: relu), outCount = n * cout * geo.d * geo.oh * geo.ow
        BLAS.useSingleThreadInsideParallelJobs()
        let u = tf.filters(weight, cout: cout, cin: cin), positions = tiling.positions
        return [Float](unsafeUninitializedCapacity: outCount) { ob, initialised in
            let op = ob.baseAddress!
            u.withUnsafeBufferPointer { ub in
                let up = ub.baseAddress!
                Parallel.forEach(tiling.jobs) { j in
                    let jb = tiling.job(j)
                    // One GEMM operand per transform position; 16 spare values between them keep the
                    // operands from starting on the same cache set (their natural pitch is a multiple of 4 KB).
                    let vPitch = cin * jb.lanes + 16, mPitch = cout * jb.lanes + 16
                    let buf = UnsafeMutablePointer<Float>.allocate(capacity: positions * (vPitch + mPitch) + tiling.scratch)
                    defer { buf.deallocate() }
                    let (vp, mp, sp) = (buf, buf + positions * vPitch, buf + positions * (vPitch + mPitch))
                    tiling.transformInput(x, channels: cin, job: jb, into: vp, pitch: vPitch, scratch: sp)
                    for e in 0..<positions {
                        BLAS.sgemm(m: cout, n: jb.lanes, k: cin, a: up + e * cout * cin, b: vp + e * vPitch,
                                   c: mp + e * mPitch, lda: cin, ldb: jb.lanes, ldc: jb.lanes)
                    }
                    tiling.transformOutput(mp, pitch: mPitch, channels: cout, job: jb, bias: bias, into: op, scratch: sp)
                }
            }
            initialised = outCount
        }
    }
}

extension Tensor {
    /// The weight gradient of a stride-1 3×3 convolution by the same F(4×4, 3×3) tiles: the
    /// forward is Y = Aᵀ[(G g Gᵀ) ⊙ V]A per tile, so dU = Σ_tiles (A dY Aᵀ) ⊙ V — one GEMM per
    /// transform position, dM [Cout, tiles] · Vᵀ [tiles, Cin] — and dg = Gᵀ dU G: 4× fewer
    /// multiply-adds than the per-tap GEMMs. Units run in a fixed split over the threads, each
    /// summing its own dU, and the sums are added in order (results do not depend on timing).
    /// Returns [Cout, Cin, 3, 3].
    static func weightGradientWinograd(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, n: Int, cin: Int, cout: Int,
                                       geometry geo: PaddedGeometry, transform tf: WinogradTransform = .f4) -> [Float] {
        let tiling = WinogradTiling(tf, geometry: geo, samples: n, lanes: 320), positions = tiling.positions, per = positions * cout * cin
        BLAS.useSingleThreadInsideParallelJobs()
        let chunks = max(1, min(Parallel.threads, tiling.jobs))
        var partial = [Float](repeating: 0, count: chunks * per)
        partial.withUnsafeMutableBufferPointer { pb in
            let pp = pb.baseAddress!
            Parallel.forEach(chunks) { ch in
                let most = tiling.job(0).lanes
                let vPitch = cin * most + 16, mPitch = cout * most + 16
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: positions * (vPitch + mPitch) + max(tiling.scratch, tiling.gradientScratch))
                defer { buf.deallocate() }
                let (vp, mp, sp, du) = (buf, buf + positions * vPitch, buf + positions * (vPitch + mPitch), pp + ch * per)
                for j in (tiling.jobs * ch / chunks)..<(tiling.jobs * (ch + 1) / chunks) {
                    let jb = tiling.job(j)
                    tiling.transformInput(x, channels: cin, job: jb, into: vp, pitch: vPitch, scratch: sp)
                    tiling.transformOutputGradient(gy, channels: cout, job: jb, into: mp, pitch: mPitch, scratch: sp)
                    for e in 0..<positions {
                        // dU_e [cout, cin] += dM_e [cout, lanes] · V_eᵀ [lanes, cin]
                        BLAS.sgemm(transB: true, m: cout, n: cin, k: jb.lanes, a: mp + e * mPitch, b: vp + e * vPitch, beta: 1,
                                   c: du + e * cout * cin, lda: jb.lanes, ldb: jb.lanes, ldc: cin)
                    }
                }
            }
        }
        // dg = Gᵀ dU G for every (co, ci), dU summed over the chunks in order.
        let a = tf.alpha, g = tf.g
        var gw = [Float](repeating: 0, count: cout * cin * 9)
        var du = [Float](repeating: 0, count: positions), tmp = [Float](repeating: 0, count: a * 3)
        for co in 0..<cout { for ci in 0..<cin {
            for e in 0..<positions {
                var v: Float = 0
                for ch in 0..<chunks { v += partial[ch * per + (e * cout + co) * cin + ci] }
                du[e] = v
            }
            for xi in 0..<a { for q in 0..<3 {
                var v: Float = 0
                for nu in 0..<a { v += du[xi * a + nu] * g[nu * 3 + q] }
                tmp[xi * 3 + q] = v
            } }
            for p in 0..<3 { for q in 0..<3 {
                var v: Float = 0
                for xi in 0..<a { v += g[xi * 3 + p] * tmp[xi * 3 + q] }
                gw[(co * cin + ci) * 9 + p * 3 + q] = v
            } }
        } }
        return gw
    }
}
