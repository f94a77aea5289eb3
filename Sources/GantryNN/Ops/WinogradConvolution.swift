import GantryCore

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

    /// U = G g Gᵀ for every filter, laid out [α^dims, Cout, Cin] (one GEMM operand per transform
    /// position); `dims` = 2 for 3×3 filters, 3 for 3×3×3 (G applied along each axis in turn).
    func filters(_ w: UnsafePointer<Float>, cout: Int, cin: Int, dims: Int = 2) -> [Float] {
        let a = alpha, positions = dims == 3 ? a * a * a : a * a, taps = dims == 3 ? 27 : 9
        var u = [Float](repeating: 0, count: positions * cout * cin)
        for co in 0..<cout { for ci in 0..<cin {
            // Along the last axis first: [3, 3, 3] → [3, 3, α] → [3, α, α] → [α, α, α].
            var cur = Array(UnsafeBufferPointer(start: w + (co * cin + ci) * taps, count: taps)), shape = Array(repeating: 3, count: dims)
            for axis in (0..<dims).reversed() {
                let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
                var next = [Float](repeating: 0, count: outer * a * inner)
                for o in 0..<outer { for i in 0..<a { for r in 0..<inner {
                    var s: Float = 0
                    for k in 0..<3 { s += g[i * 3 + k] * cur[(o * 3 + k) * inner + r] }
                    next[(o * a + i) * inner + r] = s
                } } }
                cur = next; shape[axis] = a
            }
            for e in 0..<positions { u[(e * cout + co) * cin + ci] = cur[e] }
        } }
        return u
    }

    /// out[i] = base + Σ_k row[k] · src[offsets[k] + i] for i < count: one row of a transform matrix
    /// applied to `count` tiles at once (tiles are laid out so each operand is contiguous). The
    /// nonzero taps (2–4 for these matrices) are summed in registers in one vectorised pass: one
    /// load per operand and one store per value, not a read-modify-write pass per tap.
    @inline(__always)
    static func combine(_ row: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>, taps: Int, _ src: UnsafePointer<Float>,
                        into out: UnsafeMutablePointer<Float>, count: Int, base: Float = 0) {
        var c = (Float(0), Float(0), Float(0), Float(0)), p = (src, src, src, src), nz = 0
        var extra: [(Float, UnsafePointer<Float>)] = []
        for k in 0..<taps where row[k] != 0 {
            let q = src + offsets[k]
            switch nz {
            case 0: c.0 = row[k]; p.0 = q
            case 1: c.1 = row[k]; p.1 = q
            case 2: c.2 = row[k]; p.2 = q
            case 3: c.3 = row[k]; p.3 = q
            default: extra.append((row[k], q))
            }
            nz += 1
        }
        switch min(nz, 4) {
        case 0: for i in 0..<count { out[i] = base }
        case 1: for i in 0..<count { out[i] = base + c.0 * p.0[i] }
        case 2: for i in 0..<count { out[i] = base + c.0 * p.0[i] + c.1 * p.1[i] }
        case 3: for i in 0..<count { out[i] = base + c.0 * p.0[i] + c.1 * p.1[i] + c.2 * p.2[i] }
        default: for i in 0..<count { out[i] = base + c.0 * p.0[i] + c.1 * p.1[i] + c.2 * p.2[i] + c.3 * p.3[i] }
        }
        for (ck, q) in extra { for i in 0..<count { out[i] += ck * q[i] } }
    }

    /// e[tx] = row[x0 + step·tx] for tx < count, zero where the column (or the whole row, `row`
    /// nil) falls outside the input's `w` columns: one column phase of an input row, read from
    /// the unpadded input.
    @inline(__always)
    static func gather(_ row: UnsafePointer<Float>?, x0: Int, step: Int, w: Int, into e: UnsafeMutablePointer<Float>, count: Int) {
        let lo = x0 >= 0 ? 0 : min(count, (-x0 + step - 1) / step)
        let hi = row == nil || x0 >= w ? lo : max(lo, min(count, (w - 1 - x0) / step + 1))
        for tx in 0..<lo { e[tx] = 0 }
        if let row, hi > lo {
            var q = row + x0 + step * lo
            for tx in lo..<hi { e[tx] = q.pointee; q += step }
        }
        for tx in hi..<count { e[tx] = 0 }
    }

    /// Offsets of consecutive operands `stride` apart.
    func strided(_ stride: Int) -> [Int] { (0..<alpha).map { $0 * stride } }
    /// Offsets of tile tx's k-th column in m de-interleaved column phases (tx1 values each): k mod m
    /// picks the phase, k / m the next tile.
    func phased(_ tx1: Int) -> [Int] { (0..<alpha).map { (k: Int) in (k % m) * tx1 + k / m } }
}

extension Tensor {
    /// Whether stride-1 3×3 convolutions may use Winograd (tests and benchmarks compare both paths).
    nonisolated(unsafe) public static var winogradEnabled = true

    /// The Winograd path serves dense 2D 3×3 stride-1 convolutions with equal dilation on both axes
    /// and enough channels and pixels for the transforms to pay (below that the direct GEMMs win).
    static func winogradApplies(cin: Int, cout: Int, groups: Int, geometry geo: PaddedGeometry) -> Bool {
        winogradEnabled && groups == 1 && geo.kd == 1 && geo.kh == 3 && geo.kw == 3 && geo.dilation[1] == geo.dilation[2]
            && geo.padding[0] == 0 && cin >= 16 && cout >= 16 && geo.oh * geo.ow >= 1024
    }

    /// Stride-1 3×3 convolution by F(4×4, 3×3), [n, cout, od, oh, ow] (od planes convolved alike).
    /// Work units are (sample·plane, phase, block of tiles); each transforms its tiles, runs α²
    /// GEMMs and writes its own output tiles, so the result does not depend on thread timing.
    static func convolveWinograd(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int,
                                 geometry geo: PaddedGeometry, transform tf: WinogradTransform = .f4, bias: UnsafePointer<Float>? = nil) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let (m, a) = (tf.m, tf.alpha), a2 = a * a, dil = geo.dilation[1]
        let (oh, ow, h, w) = (geo.oh, geo.ow, geo.h, geo.w)
        let (top, left) = (geo.padding[1], geo.padding[2])
        let planes = n * geo.d, outPlane = oh * ow
        let u = tf.filters(weight, cout: cout, cin: cin)
        let (bt, at) = (tf.bt, tf.at)
        // Tiles of one phase (outputs py + dil·Y, px + dil·X): tilesY × tilesX, m×m outputs each.
        // A work unit is a band of whole tile rows, so a tile row's tiles are consecutive GEMM columns.
        let phases = dil * dil
        let tilesY = ((oh + dil - 1) / dil + m - 1) / m, tilesX = ((ow + dil - 1) / dil + m - 1) / m
        let bandRows = max(1, min(tilesY, 320 / tilesX)), bands = (tilesY + bandRows - 1) / bandRows
        return [Float](unsafeUninitializedCapacity: planes * cout * outPlane) { ob, initialised in
            let op = ob.baseAddress!
            u.withUnsafeBufferPointer { ub in bt.withUnsafeBufferPointer { btb in at.withUnsafeBufferPointer { atb in
                let (up, btp, atp) = (ub.baseAddress!, btb.baseAddress!, atb.baseAddress!)
                Parallel.forEach(planes * phases * bands) { job in
                    let band = job % bands, phase = (job / bands) % phases, plane = job / (bands * phases)
                    let (py, px) = (phase / dil, phase % dil)
                    let ty0 = band * bandRows, rows = min(bandRows, tilesY - ty0), lanes = rows * tilesX
                    // Scratch: V and M (α² GEMM operands), de-interleaved input rows, one row-transform.
                    let tx1 = tilesX + 1, inRows = m * rows + 2, step = dil * m
                    // One GEMM operand per ξν; 16 spare values between them keep the α² operands from
                    // starting on the same cache set (their natural pitch is a multiple of 4 KB).
                    let vPitch = cin * lanes + 16, mPitch = cout * lanes + 16
                    let vSize = a2 * vPitch, mSize = a2 * mPitch, eSize = inRows * m * tx1, rSize = (a * m + 1) * tx1
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vSize + mSize + eSize + rSize)
                    defer { scratch.deallocate() }
                    let (vp, mp, ep, rp) = (scratch, scratch + vSize, scratch + vSize + mSize, scratch + vSize + mSize + eSize)
                    // V = Bᵀ d B for every tile of the band, one input channel at a time.
                    let (b, z) = (plane / geo.d, plane % geo.d)
                    let rowOffsets = tf.strided(m * tx1), phaseOffsets = tf.phased(tx1)
                    for ci in 0..<cin {
                        let src = x + ((b * cin + ci) * geo.d + z) * h * w
                        // Row u of the phase, split by column phase r: e[u][r][tx] = x(py + dil·u, px + dil·(m·tx + r))
                        // in padded coordinates, read from the unpadded input (zero outside it).
                        for uu in 0..<inRows {
                            let y = py + dil * (m * ty0 + uu) - top
                            for r in 0..<m {
                                WinogradTransform.gather(y >= 0 && y < h ? src + y * w : nil, x0: px + dil * r - left, step: step, w: w,
                                                         into: ep + (uu * m + r) * tx1, count: tx1)
                            }
                        }
                        for ty in 0..<rows { for xi in 0..<a {
                            // Vertical: R[r][tx] = Σ_k Bᵀ[ξ][k] e[m·ty + k][r][tx]; horizontal: V[ξ][ν][tile] = Σ_k Bᵀ[ν][k] R[k mod m][tx + k/m].
                            for r in 0..<m {
                                WinogradTransform.combine(btp + xi * a, rowOffsets, taps: a, ep + (m * ty * m + r) * tx1, into: rp + r * tx1, count: tx1)
                            }
                            for nu in 0..<a {
                                WinogradTransform.combine(btp + nu * a, phaseOffsets, taps: a, rp,
                                                          into: vp + (xi * a + nu) * vPitch + ci * lanes + ty * tilesX, count: tilesX)
                            }
                        } }
                    }
                    for e in 0..<a2 {
                        BLAS.sgemm(m: cout, n: lanes, k: cin, a: up + e * cout * cin, b: vp + e * vPitch,
                                   c: mp + e * mPitch, lda: cin, ldb: lanes, ldc: lanes)
                    }
                    // Y = Aᵀ M A per tile, written where it falls inside the output:
                    // T[ξ][j][tx] = Σ_ν Aᵀ[j][ν] M[ξ][ν][tx], then Y[i][j][tx] = Σ_ξ Aᵀ[i][ξ] T[ξ][j][tx].
                    let t = rp, yRow = rp + a * m * tx1
                    let mOffsets = tf.strided(mPitch), tOffsets = tf.strided(m * tx1)
                    for co in 0..<cout {
                        let dst = op + ((b * cout + co) * geo.d + z) * outPlane, b0 = bias?[co] ?? 0
                        for ty in 0..<rows {
                            for xi in 0..<a { for j in 0..<m {
                                WinogradTransform.combine(atp + j * a, mOffsets, taps: a, mp + xi * a * mPitch + co * lanes + ty * tilesX,
                                                          into: t + (xi * m + j) * tx1, count: tilesX)
                            } }
                            for i in 0..<m {
                                let y = py + dil * (m * (ty0 + ty) + i)
                                guard y < oh else { break }
                                for j in 0..<m {
                                    // Tiles whose column j is inside the output: px + dil·(m·tx + j) < ow.
                                    let first = px + dil * j
                                    guard first < ow else { break }
                                    let valid = min(tilesX, (ow - 1 - first) / step + 1)
                                    WinogradTransform.combine(atp + i * a, tOffsets, taps: a, t + j * tx1, into: yRow, count: valid, base: b0)
                                    var q = dst + y * ow + first
                                    for tx in 0..<valid { q.pointee = yRow[tx]; q += step }
                                }
                            }
                        }
                    }
                }
            } } }
            initialised = planes * cout * outPlane
        }
    }
}
