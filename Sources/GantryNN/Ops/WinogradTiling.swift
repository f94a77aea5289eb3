import GantryCore

/// How a 2D Winograd convolution cuts its output into tiles and its tiles into work units, and
/// the two tile transforms: input tiles → V = Bᵀ d B, products → output tiles Aᵀ M A. Per dilation
/// phase (outputs py + dil·Y, px + dil·X) there are tilesY × tilesX tiles of m×m outputs; a unit is
/// a band of whole tile rows of one plane and phase, whose tiles are consecutive GEMM columns
/// (`lanes`); transform position e's operand for channel c starts at `e·pitch + c·lanes`. Each
/// tile row takes `tx1` = tilesX + 1 columns, the last one unused: every horizontal pass of the
/// transforms is then one loop over the whole band (at 32 channels and rows of 10–40 tiles,
/// per-row loops cost as much as the GEMMs).
struct WinogradTiling {
    let tf: WinogradTransform
    let geo: PaddedGeometry
    let m: Int, a: Int, dil: Int
    /// Planes convolved alike: samples × depth.
    let planes: Int
    let tilesY: Int, tilesX: Int, bandRows: Int, bands: Int

    init(_ tf: WinogradTransform, geometry geo: PaddedGeometry, samples n: Int, lanes: Int) {
        self.tf = tf; self.geo = geo
        m = tf.m; a = tf.alpha; dil = geo.dilation[1]
        planes = n * geo.d
        tilesY = ((geo.oh + dil - 1) / dil + m - 1) / m
        tilesX = ((geo.ow + dil - 1) / dil + m - 1) / m
        bandRows = max(1, min(tilesY, lanes / tilesX)); bands = (tilesY + bandRows - 1) / bandRows
    }

    var positions: Int { a * a }
    var jobs: Int { planes * dil * dil * bands }

    struct Job { let plane: Int, py: Int, px: Int, ty0: Int, rows: Int, lanes: Int }

    func job(_ j: Int) -> Job {
        let band = j % bands, phase = (j / bands) % (dil * dil), plane = j / (bands * dil * dil)
        let ty0 = band * bandRows, rows = min(bandRows, tilesY - ty0)
        return Job(plane: plane, py: phase / dil, px: phase % dil, ty0: ty0, rows: rows, lanes: rows * tx1)
    }

    var tx1: Int { tilesX + 1 }
    /// Scratch values the transforms of one job need (the larger of the two): input rows and the
    /// vertical pass's band; the output's first pass and one output row of the band.
    var scratch: Int { max((m * bandRows + 2) * m * tx1 + a * m * bandRows * tx1 + 2, (a * m + 1) * bandRows * tx1) }

    /// Channel c's plane of a [N, C, D, H, W] tensor for the job's plane (sample, depth).
    func channel(_ t: UnsafePointer<Float>, _ c: Int, of count: Int, job: Job, h: Int, w: Int) -> UnsafePointer<Float> {
        t + (((job.plane / geo.d) * count + c) * geo.d + job.plane % geo.d) * h * w
    }

    /// V = Bᵀ d B for the job's tiles of every input channel: de-interleaved input rows, a vertical
    /// pass per tile row into r[ξ][phase][tile row][tx], then one horizontal pass over the band.
    func transformInput(_ x: UnsafePointer<Float>, channels cin: Int, job jb: Job, into v: UnsafeMutablePointer<Float>, pitch: Int,
                        scratch s: UnsafeMutablePointer<Float>) {
        let (h, w) = (geo.h, geo.w), (top, left) = (geo.padding[1], geo.padding[2])
        let tx1 = self.tx1, step = dil * m, inRows = m * jb.rows + 2, rowBlock = m * tx1, band = jb.lanes
        let bt = tf.bt, rowOffsets = tf.strided(rowBlock), phaseOffsets = tf.phased(band)
        let e = s, r = s + inRows * rowBlock
        // Zeroed once: the horizontal pass reads one value past each block for the band's unused
        // last column (its results are never stored).
        r.initialize(repeating: 0, count: a * m * band + 2)
        bt.withUnsafeBufferPointer { bb in
            let btp = bb.baseAddress!
            for ci in 0..<cin {
                let src = channel(x, ci, of: cin, job: jb, h: h, w: w)
                // e[u][r][tx] = x(py + dil·u, px + dil·(m·tx + r)) in padded coordinates (zero outside).
                for uu in 0..<inRows {
                    let y = jb.py + dil * (m * jb.ty0 + uu) - top
                    for ph in 0..<m {
                        WinogradTransform.gather(y >= 0 && y < h ? src + y * w : nil, x0: jb.px + dil * ph - left, step: step, w: w,
                                                 into: e + (uu * m + ph) * tx1, count: tx1)
                    }
                }
                for xi in 0..<a {
                    let rx = r + xi * m * band
                    for ph in 0..<m {
                        WinogradTransform.combine(btp + xi * a, rowOffsets, taps: a, e + ph * tx1, into: rx + ph * band, count: tx1,
                                                  rows: jb.rows, srcStride: m * rowBlock, dstStride: tx1)
                    }
                    for nu in 0..<a {
                        WinogradTransform.combine(btp + nu * a, phaseOffsets, taps: a, rx, into: v + (xi * a + nu) * pitch + ci * band, count: band)
                    }
                }
            }
        }
    }

    /// Output tiles Aᵀ M A of every output channel, written where they fall inside
    /// `out` ([N, C, …]), plus the channel's bias: both passes over the whole band, then each tile
    /// row's outputs scattered to their pixels.
    func transformOutput(_ mp: UnsafePointer<Float>, pitch: Int, channels cout: Int, job jb: Job, bias: UnsafePointer<Float>?,
                         into out: UnsafeMutablePointer<Float>, scratch s: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (geo.oh, geo.ow), tx1 = self.tx1, step = dil * m, band = jb.lanes
        let mOffsets = tf.strided(pitch), tOffsets = tf.strided(m * band)
        let t = s, yBand = s + a * m * band
        tf.at.withUnsafeBufferPointer { ab in
            let atp = ab.baseAddress!
            for co in 0..<cout {
                let dst = UnsafeMutablePointer(mutating: channel(out, co, of: cout, job: jb, h: oh, w: ow)), b0 = bias?[co] ?? 0
                // T[ξ][j][·] = Σ_ν Aᵀ[j][ν] M[ξν][·], then Y[i][j][·] = Σ_ξ Aᵀ[i][ξ] T[ξ][j][·] + bias.
                for xi in 0..<a { for j in 0..<m {
                    WinogradTransform.combine(atp + j * a, mOffsets, taps: a, mp + xi * a * pitch + co * band, into: t + (xi * m + j) * band, count: band)
                } }
                for j in 0..<m {
                    let first = jb.px + dil * j
                    guard first < ow else { break }
                    let valid = min(tilesX, (ow - 1 - first) / step + 1)
                    for i in 0..<m {
                        WinogradTransform.combine(atp + i * a, tOffsets, taps: a, t + j * band, into: yBand, count: band, base: b0)
                        for ty in 0..<jb.rows {
                            let y = jb.py + dil * (m * (jb.ty0 + ty) + i)
                            guard y < oh else { break }
                            var q = dst + y * ow + first
                            let row = yBand + ty * tx1
                            for tx in 0..<valid { q.pointee = row[tx]; q += step }
                        }
                    }
                }
            }
        }
    }
}
