import GantryCore

/// How a 2D Winograd convolution cuts its output into tiles and its tiles into work units, and
/// the two tile transforms: input tiles → V = Bᵀ d B, products → output tiles Aᵀ M A. Per dilation
/// phase q = (py, px) (outputs py + dil·Y, px + dil·X) there are tilesY × tilesX tiles of m×m
/// outputs; a unit is a band of whole tile rows of one plane, in every phase, whose tiles are
/// consecutive GEMM columns (`lanes`, ordered tile row, phase, tile column); transform position
/// e's operand for channel c starts at `e·pitch + c·lanes`. A unit takes all dil² phases because
/// they share the band's input rows and interleave in its output rows: one unit reads and writes
/// them while they are in cache (with one phase per unit each input row came from memory dil²
/// times). Each tile row takes `tx1` = tilesX + 1 columns, the last one unused: every pass of the
/// transforms is then one loop over the whole band, all phases at once (at 32 channels and rows
/// of 10–40 tiles, per-row loops cost as much as the GEMMs).
struct WinogradTiling {
    let tf: WinogradTransform
    let geo: PaddedGeometry
    let m: Int, a: Int, dil: Int
    /// Planes convolved alike: samples × depth.
    let planes: Int
    let tilesY: Int, tilesX: Int, bandRows: Int, bands: Int

    /// What the padding holds, and whether outputs are written through a ReLU.
    let edges: PaddingEdges, relu: Bool

    init(_ tf: WinogradTransform, geometry geo: PaddedGeometry, samples n: Int, lanes: Int, edges: PaddingEdges = .zeros, relu: Bool = false) {
        self.tf = tf; self.geo = geo; self.edges = edges; self.relu = relu
        m = tf.m; a = tf.alpha; dil = geo.dilation[1]
        planes = n * geo.d
        tilesY = ((geo.oh + dil - 1) / dil + m - 1) / m
        tilesX = ((geo.ow + dil - 1) / dil + m - 1) / m
        bandRows = max(1, min(tilesY, lanes / (dil * dil * tilesX))); bands = (tilesY + bandRows - 1) / bandRows
    }

    var positions: Int { a * a }
    var jobs: Int { planes * bands }
    var phases: Int { dil * dil }

    /// A band of `rows` tile rows from `ty0` in one plane; tile (ty, q, tx) is lane
    /// (ty·phases + q)·tx1 + tx.
    struct Job { let plane: Int, ty0: Int, rows: Int, lanes: Int }

    func job(_ j: Int) -> Job {
        let band = j % bands, plane = j / bands
        let ty0 = band * bandRows, rows = min(bandRows, tilesY - ty0)
        return Job(plane: plane, ty0: ty0, rows: rows, lanes: rows * phases * tx1)
    }

    var tx1: Int { tilesX + 1 }
    /// Scratch values the transforms of one job need (the larger of the two): input rows and the
    /// vertical pass's band; the output's first pass and one output row of the band.
    var scratch: Int {
        let lanes = bandRows * phases * tx1
        return max((m * bandRows + 2) * m * phases * tx1 + a * m * lanes + 2, (a * m + 1) * lanes)
    }

    /// Channel c's plane of a [N, C, D, H, W] tensor for the job's plane (sample, depth).
    func channel(_ t: UnsafePointer<Float>, _ c: Int, of count: Int, job: Job, h: Int, w: Int) -> UnsafePointer<Float> {
        t + (((job.plane / geo.d) * count + c) * geo.d + job.plane % geo.d) * h * w
    }

    /// V = Bᵀ d B for the job's tiles of every input channel: de-interleaved input rows
    /// e[u][r][q][tx] = x(py + dil·u, px + dil·(m·tx + r)), a vertical pass per tile row into
    /// r[ξ][r][ty][q][tx], then one horizontal pass over the band.
    func transformInput(_ x: UnsafePointer<Float>, channels cin: Int, job jb: Job, into v: UnsafeMutablePointer<Float>, pitch: Int,
                        scratch s: UnsafeMutablePointer<Float>) {
        let (h, w) = (geo.h, geo.w), (top, left) = (geo.padding[1], geo.padding[2])
        let tx1 = self.tx1, step = dil * m, inRows = m * jb.rows + 2, lanes = jb.lanes
        let phaseRow = phases * tx1, rowBlock = m * phaseRow
        let bt = tf.bt, rowOffsets = tf.strided(rowBlock), columnOffsets = tf.phased(lanes), replicate = edges == .replicate
        let e = s, r = s + inRows * rowBlock
        // Zeroed once: the horizontal pass reads one value past each block for the band's unused
        // last column (its results are never stored).
        r.initialize(repeating: 0, count: a * m * lanes + 2)
        bt.withUnsafeBufferPointer { bb in
            let btp = bb.baseAddress!
            for ci in 0..<cin {
                let src = channel(x, ci, of: cin, job: jb, h: h, w: w)
                // In padded coordinates: zero outside, or the nearest edge value.
                for uu in 0..<inRows { for py in 0..<dil {
                    let y = py + dil * (m * jb.ty0 + uu) - top
                    let inside = replicate ? y >= -top && y < h + top : y >= 0 && y < h
                    let row = inside ? src + min(max(y, 0), h - 1) * w : nil
                    for ph in 0..<m { for px in 0..<dil {
                        WinogradTransform.gather(row, x0: px + dil * ph - left, step: step, w: w, edgeColumns: replicate ? left : 0,
                                                 into: e + uu * rowBlock + ph * phaseRow + (py * dil + px) * tx1, count: tx1)
                    } }
                } }
                for xi in 0..<a {
                    let rx = r + xi * m * lanes
                    for ph in 0..<m {
                        WinogradTransform.combine(btp + xi * a, rowOffsets, taps: a, e + ph * phaseRow, into: rx + ph * lanes, count: phaseRow,
                                                  rows: jb.rows, srcStride: m * rowBlock, dstStride: phaseRow)
                    }
                    for nu in 0..<a {
                        WinogradTransform.combine(btp + nu * a, columnOffsets, taps: a, rx, into: v + (xi * a + nu) * pitch + ci * lanes, count: lanes)
                    }
                }
            }
        }
    }

    /// Scratch values `transformOutputGradient` needs: the band's dY rows and its vertical pass.
    var gradientScratch: Int {
        let lanes = bandRows * phases * tx1
        return m * bandRows * m * phases * tx1 + a * m * lanes
    }

    /// The adjoint of the output transform, for weight gradients: dM = A dY Aᵀ (α×α) for the job's
    /// tiles of every channel of dY ([N, C, …] on the output grid, zero past it), laid out as V:
    /// position e's operand for channel c at `e·pitch + c·lanes`. dY rows are gathered
    /// d[ty·m + i][j][q][tx] (column j of each tile apart, so no interleave), then one vertical
    /// and one horizontal pass over the band.
    func transformOutputGradient(_ gy: UnsafePointer<Float>, channels cout: Int, job jb: Job, into dm: UnsafeMutablePointer<Float>, pitch: Int,
                                 scratch s: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (geo.oh, geo.ow), tx1 = self.tx1, step = dil * m, lanes = jb.lanes
        let phaseRow = phases * tx1, rowBlock = m * phaseRow
        // A = (Aᵀ)ᵀ, α×m: row ξ holds the coefficients of dY's m values.
        let aT = (0..<(a * m)).map { tf.at[($0 % m) * a + $0 / m] }
        let rowOffsets = tf.strided(rowBlock).prefix(m).map { $0 }, laneOffsets = tf.strided(lanes).prefix(m).map { $0 }
        let d = s, r = s + m * jb.rows * rowBlock
        aT.withUnsafeBufferPointer { ab in
            let ap = ab.baseAddress!
            for co in 0..<cout {
                let src = channel(gy, co, of: cout, job: jb, h: oh, w: ow)
                for ty in 0..<jb.rows { for i in 0..<m { for py in 0..<dil {
                    let y = py + dil * (m * (jb.ty0 + ty) + i)
                    let row = y < oh ? src + y * ow : nil
                    for j in 0..<m { for px in 0..<dil {
                        WinogradTransform.gather(row, x0: px + dil * j, step: step, w: ow,
                                                 into: d + (ty * m + i) * rowBlock + j * phaseRow + (py * dil + px) * tx1, count: tx1)
                    } }
                } } }
                for xi in 0..<a {
                    let rx = r + xi * m * lanes
                    for j in 0..<m {
                        WinogradTransform.combine(ap + xi * m, rowOffsets, taps: m, d + j * phaseRow, into: rx + j * lanes, count: phaseRow,
                                                  rows: jb.rows, srcStride: m * rowBlock, dstStride: phaseRow)
                    }
                    for nu in 0..<a {
                        WinogradTransform.combine(ap + nu * m, laneOffsets, taps: m, rx, into: dm + (xi * a + nu) * pitch + co * lanes, count: lanes)
                    }
                }
            }
        }
    }

    /// Output tiles Aᵀ M A of every output channel, written where they fall inside
    /// `out` ([N, C, …]), plus the channel's bias (through a ReLU when `relu`): both passes over
    /// the whole band, then each tile row's outputs scattered to their pixels.
    func transformOutput(_ mp: UnsafePointer<Float>, pitch: Int, channels cout: Int, job jb: Job, bias: UnsafePointer<Float>?,
                         into out: UnsafeMutablePointer<Float>, scratch s: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (geo.oh, geo.ow), tx1 = self.tx1, step = dil * m, lanes = jb.lanes
        let mOffsets = tf.strided(pitch), tOffsets = tf.strided(m * lanes)
        let t = s, yBand = s + a * m * lanes
        tf.at.withUnsafeBufferPointer { ab in
            let atp = ab.baseAddress!
            for co in 0..<cout {
                let dst = UnsafeMutablePointer(mutating: channel(out, co, of: cout, job: jb, h: oh, w: ow)), b0 = bias?[co] ?? 0
                // T[ξ][j][·] = Σ_ν Aᵀ[j][ν] M[ξν][·], then Y[i][j][·] = Σ_ξ Aᵀ[i][ξ] T[ξ][j][·] + bias.
                for xi in 0..<a { for j in 0..<m {
                    WinogradTransform.combine(atp + j * a, mOffsets, taps: a, mp + xi * a * pitch + co * lanes, into: t + (xi * m + j) * lanes, count: lanes)
                } }
                for j in 0..<m { for i in 0..<m {
                    WinogradTransform.combine(atp + i * a, tOffsets, taps: a, t + j * lanes, into: yBand, count: lanes, base: b0)
                    for ty in 0..<jb.rows { for q in 0..<phases {
                        let (py, px) = (q / dil, q % dil), first = px + dil * j, y = py + dil * (m * (jb.ty0 + ty) + i)
                        guard first < ow, y < oh else { continue }
                        let valid = min(tilesX, (ow - 1 - first) / step + 1)
                        var o = dst + y * ow + first
                        let row = yBand + (ty * phases + q) * tx1
                        if relu {
                            for tx in 0..<valid { o.pointee = max(0, row[tx]); o += step }
                        } else {
                            for tx in 0..<valid { o.pointee = row[tx]; o += step }
                        }
                    } }
                } }
            }
        }
    }
}
