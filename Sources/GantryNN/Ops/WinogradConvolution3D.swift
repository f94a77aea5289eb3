import GantryCore

/// Winograd F(2×2×2, 3×3×3) for dense 3×3×3 stride-1 convolutions (the U-Nets' residual units and
/// attention blocks at 16+ channels): 64 multiplies per channel pair for 8 outputs instead of 216.
/// The three 1D transforms are applied axis by axis to a band of tiles (one tile slab in depth,
/// consecutive tile rows), each pass a contiguous vector loop over the tiles of a row, as in the
/// 2D path (`convolveWinograd`). F(2, 3)'s coefficients are 0, ±½, ±1, so it adds no error beyond
/// Float rounding.
extension Tensor {
    static func winograd3DApplies(cin: Int, cout: Int, groups: Int, geometry geo: PaddedGeometry) -> Bool {
        winogradEnabled && groups == 1 && geo.kd == 3 && geo.kh == 3 && geo.kw == 3 && geo.dilation == [1, 1, 1]
            && cin >= 16 && cout >= 16 && geo.od * geo.oh * geo.ow >= 4096
    }

    /// [n, cout, od, oh, ow]. Work units are (sample, tile slab, band of tile rows); each writes its
    /// own output tiles (deterministic).
    static func convolveWinograd3D(_ x: UnsafePointer<Float>, n: Int, cin: Int, weight: UnsafePointer<Float>, cout: Int,
                                   geometry geo: PaddedGeometry, bias: UnsafePointer<Float>? = nil) -> [Float] {
        BLAS.useSingleThreadInsideParallelJobs()
        let tf = WinogradTransform.f2
        let (m, a) = (tf.m, tf.alpha), a3 = a * a * a
        let (d, h, w, od, oh, ow) = (geo.d, geo.h, geo.w, geo.od, geo.oh, geo.ow)
        let (front, top, left) = (geo.padding[0], geo.padding[1], geo.padding[2])
        let inVol = d * h * w, outVol = od * oh * ow
        let u = tf.filters(weight, cout: cout, cin: cin, dims: 3)
        let (bt, at) = (tf.bt, tf.at)
        let tilesZ = (od + m - 1) / m, tilesY = (oh + m - 1) / m, tilesX = (ow + m - 1) / m
        let bandRows = max(1, min(tilesY, 256 / tilesX)), bands = (tilesY + bandRows - 1) / bandRows
        return [Float](unsafeUninitializedCapacity: n * cout * outVol) { ob, initialised in
            let op = ob.baseAddress!
            u.withUnsafeBufferPointer { ub in bt.withUnsafeBufferPointer { btb in at.withUnsafeBufferPointer { atb in
                let (up, btp, atp) = (ub.baseAddress!, btb.baseAddress!, atb.baseAddress!)
                Parallel.forEach(n * tilesZ * bands) { job in
                    let band = job % bands, tz = (job / bands) % tilesZ, b = job / (bands * tilesZ)
                    let ty0 = band * bandRows, rows = min(bandRows, tilesY - ty0), lanes = rows * tilesX
                    let tx1 = tilesX + 1, inRows = m * rows + 2, rowBlock = m * tx1, slab = inRows * rowBlock
                    // Scratch: V and M (α³ GEMM operands, pitches off 4 KB multiples), the input slab
                    // split by column phase (α planes), the slab after the depth pass (α of them), and
                    // the per-row passes.
                    let vPitch = cin * lanes + 16, mPitch = cout * lanes + 16
                    let vSize = a3 * vPitch, mSize = a3 * mPitch, eSize = 2 * a * slab, rSize = (a * a * m + a * m * m + 1) * tx1
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vSize + mSize + eSize + rSize)
                    defer { scratch.deallocate() }
                    let (vp, mp) = (scratch, scratch + vSize)
                    let (ep, zp, rp) = (scratch + vSize + mSize, scratch + vSize + mSize + a * slab, scratch + vSize + mSize + eSize)
                    let planeOffsets = tf.strided(slab), rowOffsets = tf.strided(rowBlock), phaseOffsets = tf.phased(tx1)
                    for ci in 0..<cin {
                        let src = x + (b * cin + ci) * inVol
                        // e[zk][u][r][tx] = x(m·tz + zk, m·ty0 + u, m·tx + r) in padded coordinates.
                        for zk in 0..<a {
                            let zi = m * tz + zk - front
                            for uu in 0..<inRows {
                                let yi = m * ty0 + uu - top
                                let row = zi >= 0 && zi < d && yi >= 0 && yi < h ? src + (zi * h + yi) * w : nil
                                for r in 0..<m {
                                    WinogradTransform.gather(row, x0: r - left, step: m, w: w, into: ep + zk * slab + (uu * m + r) * tx1, count: tx1)
                                }
                            }
                        }
                        // Depth pass over the whole slab, then per tile row the height and width passes.
                        for xi in 0..<a {
                            WinogradTransform.combine(btp + xi * a, planeOffsets, taps: a, ep, into: zp + xi * slab, count: slab)
                        }
                        for ty in 0..<rows { for xi in 0..<a { for eta in 0..<a {
                            let ry = rp  // m column phases × tx1
                            WinogradTransform.combine(btp + eta * a, rowOffsets, taps: a, zp + xi * slab + m * ty * rowBlock, into: ry, count: rowBlock)
                            for nu in 0..<a {
                                WinogradTransform.combine(btp + nu * a, phaseOffsets, taps: a, ry,
                                                          into: vp + ((xi * a + eta) * a + nu) * vPitch + ci * lanes + ty * tilesX, count: tilesX)
                            }
                        } } }
                    }
                    for e in 0..<a3 {
                        BLAS.sgemm(m: cout, n: lanes, k: cin, a: up + e * cout * cin, b: vp + e * vPitch,
                                   c: mp + e * mPitch, lda: cin, ldb: lanes, ldc: lanes)
                    }
                    // Y = Aᵀ along width, height, depth: T1[ξ][η][j] = Σ_ν Aᵀ[j][ν] M[ξην], T2[ξ][i][j] =
                    // Σ_η Aᵀ[i][η] T1[ξ][η][j], Y[l][i][j] = Σ_ξ Aᵀ[l][ξ] T2[ξ][i][j] (+ bias).
                    let t1 = rp, t2 = rp + a * a * m * tx1, yRow = t2 + a * m * m * tx1
                    let mOffsets = tf.strided(mPitch), t1Offsets = tf.strided(m * tx1), t2Offsets = tf.strided(m * m * tx1)
                    for co in 0..<cout {
                        let dst = op + (b * cout + co) * outVol, b0 = bias?[co] ?? 0
                        for ty in 0..<rows {
                            for xi in 0..<a { for eta in 0..<a { for j in 0..<m {
                                WinogradTransform.combine(atp + j * a, mOffsets, taps: a, mp + (xi * a + eta) * a * mPitch + co * lanes + ty * tilesX,
                                                          into: t1 + ((xi * a + eta) * m + j) * tx1, count: tilesX)
                            } } }
                            for xi in 0..<a { for i in 0..<m { for j in 0..<m {
                                WinogradTransform.combine(atp + i * a, t1Offsets, taps: a, t1 + (xi * a * m + j) * tx1,
                                                          into: t2 + ((xi * m + i) * m + j) * tx1, count: tilesX)
                            } } }
                            for l in 0..<m {
                                let zo = m * tz + l
                                guard zo < od else { break }
                                for i in 0..<m {
                                    let yo = m * (ty0 + ty) + i
                                    guard yo < oh else { break }
                                    for j in 0..<m where j < ow {
                                        let valid = min(tilesX, (ow - 1 - j) / m + 1)
                                        WinogradTransform.combine(atp + l * a, t2Offsets, taps: a, t2 + (i * m + j) * tx1, into: yRow, count: valid, base: b0)
                                        var q = dst + (zo * oh + yo) * ow + j
                                        for tx in 0..<valid { q.pointee = yRow[tx]; q += m }
                                    }
                                }
                            }
                        }
                    }
                }
            } } }
            initialised = n * cout * outVol
        }
    }
}
