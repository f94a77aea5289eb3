import Foundation
import GantryCore

/// What drives the deformable stage.
public enum DeformableSimilarity: String, CaseIterable, Sendable {
    /// Squared intensity differences (classic demons forces): the two images must share an
    /// intensity scale — the same scanner and subject, or a skull-stripped pair.
    case mse
    /// Local (neighbourhood) cross-correlation, as ANTs SyN's `CC` metric: each voxel is compared
    /// with its neighbours' means and spreads, so a different intensity scale, bias field or scalp
    /// brightness between the images does not create forces.
    case lncc

    /// The default: local correlation. On whole-head pairs (skull and scalp present) squared
    /// differences pull the brain towards the scalp's intensities; correlation does not, and it is
    /// as good on skull-stripped pairs (docs/registration.md has the figures).
    public static let standard = DeformableSimilarity.lncc
}

/// Forces of the local cross-correlation (Avants et al. 2008, the SyN paper, eq. 6): for each voxel
/// x with window sums over (2r+1)³ neighbours, f̄ = F − μF, m̄ = M − μM, and
/// ∂CC/∂M(x) = 2·sFM / (sFF·sMM) · (f̄ − sFM/sMM · m̄), the derivative of CC = sFM² / (sFF·sMM) with
/// the window means held fixed, and likewise ∂CC/∂F(x) = 2·sFM / (sFF·sMM) · (m̄ − sFM/sFF · f̄). Moving the
/// moving sample by +u/2 and the fixed one by −u/2 changes CC by ½(∂CC/∂M·∇M − ∂CC/∂F·∇F)·u: that is the
/// force. (For one contrast ∂CC/∂F ≈ −∂CC/∂M and it is the demons' ½(∇F + ∇M) gradient; across
/// contrasts ∇F and ∇M may point opposite ways and only this form keeps the sign.)
enum LocalCorrelation {
    /// Window radius in voxels of the level's grid (ANTs' usual CC radius).
    static let radius = 2

    /// Window sums of `values` over the (2r+1)³ box clipped to the grid: running sums along x per
    /// row, then along y and z a whole row at a time (contiguous, vectorised), in Double.
    static func boxSums(_ values: [Float], shape: [Int], radius r: Int) -> [Float] {
        let nx = shape[0], ny = shape[1], nz = shape[2]
        var a = [Float](repeating: 0, count: values.count)
        var b = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { vb in a.withUnsafeMutableBufferPointer { ab in
            let src = vb.baseAddress!, dst = ab.baseAddress!
            Parallel.forEach(ny * nz) { row in
                let start = row * nx
                var sum = 0.0
                for i in 0..<min(r, nx) { sum += Double(src[start + i]) }
                for i in 0..<nx {
                    if i + r < nx { sum += Double(src[start + i + r]) }
                    if i - r - 1 >= 0 { sum -= Double(src[start + i - r - 1]) }
                    dst[start + i] = Float(sum)
                }
            }
        } }
        /// Running sums of whole rows along an axis whose rows are `step` apart: `count` rows from
        /// `base`, for each of `lines` independent runs starting `lineStride` apart.
        func rows(_ from: [Float], _ to: inout [Float], lines: Int, lineStride: Int, count: Int, step: Int) {
            from.withUnsafeBufferPointer { fb in to.withUnsafeMutableBufferPointer { tb in
                let src = fb.baseAddress!, dst = tb.baseAddress!
                Parallel.forEach(lines) { line in
                    let base = line * lineStride
                    var acc = [Double](repeating: 0, count: nx)
                    acc.withUnsafeMutableBufferPointer { accb in
                        let s = accb.baseAddress!
                        for j in 0..<min(r, count) { let p = src + base + j * step; for i in 0..<nx { s[i] += Double(p[i]) } }
                        for j in 0..<count {
                            if j + r < count { let p = src + base + (j + r) * step; for i in 0..<nx { s[i] += Double(p[i]) } }
                            if j - r - 1 >= 0 { let p = src + base + (j - r - 1) * step; for i in 0..<nx { s[i] -= Double(p[i]) } }
                            let q = dst + base + j * step
                            for i in 0..<nx { q[i] = Float(s[i]) }
                        }
                    }
                }
            } }
        }
        rows(a, &b, lines: nz, lineStride: nx * ny, count: ny, step: nx)   // along y, plane by plane
        rows(b, &a, lines: ny, lineStride: nx, count: nz, step: nx * ny)   // along z, row index by row index
        return a
    }

    /// Voxels in each clipped window (the product of the per-axis counts).
    static func windowCounts(shape: [Int], radius r: Int) -> [Float] {
        let axis = shape.map { n in (0..<n).map { Float(min($0 + r, n - 1) - max($0 - r, 0) + 1) } }
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        var o = 0
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] { out[o] = axis[0][i] * axis[1][j] * axis[2][k]; o += 1 } } }
        return out
    }

    /// The fixed image's window statistics, computed once per level.
    struct Fixed {
        let shape: [Int]
        let count: [Float]
        let sum: [Float]
        let sumSquares: [Float]
        init(_ f: [Float], shape: [Int]) {
            self.shape = shape
            count = LocalCorrelation.windowCounts(shape: shape, radius: LocalCorrelation.radius)
            sum = LocalCorrelation.boxSums(f, shape: shape, radius: LocalCorrelation.radius)
            sumSquares = LocalCorrelation.boxSums(f.map { $0 * $0 }, shape: shape, radius: LocalCorrelation.radius)
        }
    }

    /// One component of the symmetric force ½(∂CC/∂M·∇M − ∂CC/∂F·∇F).
    static func force(dM: [Float], gradientM: [Float], dF: [Float], gradientF: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: dM.count)
        let planes = max(1, dM.count / 65_536), chunk = (dM.count + planes - 1) / planes
        dM.withUnsafeBufferPointer { a in gradientM.withUnsafeBufferPointer { b in dF.withUnsafeBufferPointer { c in gradientF.withUnsafeBufferPointer { d in
        out.withUnsafeMutableBufferPointer { ob in
            let (pa, pb, pc, pd, po) = (a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!, ob.baseAddress!)
            let n = dM.count
            Parallel.forEach(planes) { t in
                for o in (t * chunk)..<min(n, (t + 1) * chunk) { po[o] = 0.5 * (pa[o] * pb[o] - pc[o] * pd[o]) }
            }
        } } } } }
        return out
    }

    /// ∂CC/∂M and ∂CC/∂F per voxel (0 where either window is flat) and the mean CC over the voxels used.
    static func derivative(fixed f: [Float], stats: Fixed, moving m: [Float], inside: [Bool]) -> (dM: [Float], dF: [Float], meanCC: Double) {
        let r = radius, shape = stats.shape
        var mm = [Float](repeating: 0, count: m.count), fm = mm
        m.withUnsafeBufferPointer { mb in f.withUnsafeBufferPointer { fb in mm.withUnsafeMutableBufferPointer { a in fm.withUnsafeMutableBufferPointer { b in
            for o in 0..<mb.count { a[o] = mb[o] * mb[o]; b[o] = fb[o] * mb[o] }
        } } } }
        let sm = boxSums(m, shape: shape, radius: r)
        let smm = boxSums(mm, shape: shape, radius: r)
        let sfm = boxSums(fm, shape: shape, radius: r)
        var d = [Float](repeating: 0, count: f.count), e = d
        let planes = shape[2], plane = f.count / max(planes, 1)
        // Per plane sums, added in plane order (deterministic whatever the thread count).
        var planeCC = [Double](repeating: 0, count: planes), planeUsed = [Int](repeating: 0, count: planes)
        e.withUnsafeMutableBufferPointer { eb in let ep = eb.baseAddress!
        d.withUnsafeMutableBufferPointer { db in planeCC.withUnsafeMutableBufferPointer { cb in planeUsed.withUnsafeMutableBufferPointer { ub in
            let dp = db.baseAddress!, cp = cb.baseAddress!, up = ub.baseAddress!
            Parallel.forEach(planes) { k in
                var total = 0.0, used = 0
                for o in (k * plane)..<((k + 1) * plane) {
                    if !inside.isEmpty && !inside[o] { continue }
                    let n = stats.count[o]
                    let muF = stats.sum[o] / n, muM = sm[o] / n
                    let vFF = stats.sumSquares[o] - stats.sum[o] * muF
                    let vMM = smm[o] - sm[o] * muM
                    let vFM = sfm[o] - stats.sum[o] * muM
                    // Flat windows (background, a uniform region) carry no correlation to improve.
                    guard vFF > 1e-6 * n, vMM > 1e-6 * n else { continue }
                    let ff = f[o] - muF, mm = m[o] - muM
                    dp[o] = 2 * vFM / (vFF * vMM) * (ff - vFM / vMM * mm)
                    ep[o] = 2 * vFM / (vFF * vMM) * (mm - vFM / vFF * ff)
                    total += Double(vFM * vFM / (vFF * vMM)); used += 1
                }
                cp[k] = total; up[k] = used
            }
        } } } }
        let used = planeUsed.reduce(0, +)
        return (d, e, used > 0 ? planeCC.reduce(0, +) / Double(used) : 0)
    }
}
