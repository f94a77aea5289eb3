import Foundation
import GantryCore

/// Image similarity metrics, written as costs to minimise (lower is better), over voxels where the
/// warped moving image is defined (`valid`).
public enum Similarity: String, Sendable, CaseIterable {
    /// Mean squared difference: same modality, same intensity scale.
    case mse
    /// Negative normalised cross-correlation: same modality, any linear intensity relation.
    case ncc
    /// Negative local (windowed) normalised cross-correlation, averaged over the image: robust to
    /// slowly varying intensity differences such as bias fields (ANTs' `CC` metric; 5³ windows).
    case lncc
    /// Negative mutual information (joint histogram, 32 bins, linear partial-volume binning, as
    /// Mattes): different contrasts.
    case mi

    public func cost(_ fixed: [Float], _ moving: [Float], valid: [Bool], shape: [Int]? = nil) -> Double {
        switch self {
        case .lncc:
            guard let shape else { return Similarity.ncc.cost(fixed, moving, valid: valid) }
            return -Similarity.localNCC(fixed, moving, valid: valid, shape: shape, radius: 2)
        case .mse:
            var s = 0.0, n = 0
            for i in 0..<fixed.count where valid[i] { let d = Double(fixed[i] - moving[i]); s += d * d; n += 1 }
            return n > 0 ? s / Double(n) : .infinity
        case .ncc:
            var sf = 0.0, sm = 0.0, sff = 0.0, smm = 0.0, sfm = 0.0, n = 0.0
            for i in 0..<fixed.count where valid[i] {
                let (f, m) = (Double(fixed[i]), Double(moving[i]))
                sf += f; sm += m; sff += f * f; smm += m * m; sfm += f * m; n += 1
            }
            guard n > 1 else { return .infinity }
            let cov = sfm - sf * sm / n, vf = sff - sf * sf / n, vm = smm - sm * sm / n
            return vf > 0 && vm > 0 ? -cov / (vf * vm).squareRoot() : 0
        case .mi:
            return -Similarity.mutualInformation(fixed, moving, valid: valid, bins: 32)
        }
    }

    /// Mean over valid voxels of the windowed correlation coefficient (box windows of side 2r+1).
    static func localNCC(_ f: [Float], _ m: [Float], valid: [Bool], shape s: [Int], radius r: Int) -> Double {
        let n = f.count
        var a = [Float](repeating: 0, count: n), b = a, aa = a, bb = a, ab = a
        for i in 0..<n where valid[i] { a[i] = f[i]; b[i] = m[i]; aa[i] = f[i] * f[i]; bb[i] = m[i] * m[i]; ab[i] = f[i] * m[i] }
        var cnt = valid.map { $0 ? Float(1) : 0 }
        for buf in [0, 1, 2, 3, 4, 5] {
            switch buf {
            case 0: boxSum(&a, s, r)
            case 1: boxSum(&b, s, r)
            case 2: boxSum(&aa, s, r)
            case 3: boxSum(&bb, s, r)
            case 4: boxSum(&ab, s, r)
            default: boxSum(&cnt, s, r)
            }
        }
        var total = 0.0, k = 0
        for i in 0..<n where valid[i] && cnt[i] > 1 {
            let c = Double(cnt[i])
            let cov = Double(ab[i]) - Double(a[i]) * Double(b[i]) / c
            let va = Double(aa[i]) - Double(a[i]) * Double(a[i]) / c, vb = Double(bb[i]) - Double(b[i]) * Double(b[i]) / c
            if va > 1e-12 && vb > 1e-12 { total += cov / (va * vb).squareRoot(); k += 1 }
        }
        return k > 0 ? total / Double(k) : 0
    }

    /// In-place separable box sum over a (2r+1)³ window (clipped at the borders).
    static func boxSum(_ v: inout [Float], _ s: [Int], _ r: Int) {
        let strides = [1, s[0], s[0] * s[1]]
        for axis in 0..<3 {
            let len = s[axis], st = strides[axis], lines = v.count / len
            let src = v
            for line in 0..<lines {
                let inner = line % st, outer = line / st
                let base = inner + outer * st * len
                var acc: Float = 0
                // running window sum
                for i in 0..<min(r, len) { acc += src[base + i * st] }
                for i in 0..<len {
                    if i + r < len { acc += src[base + (i + r) * st] }
                    if i - r - 1 >= 0 { acc -= src[base + (i - r - 1) * st] }
                    v[base + i * st] = acc
                }
            }
        }
    }

    static func mutualInformation(_ a: [Float], _ b: [Float], valid: [Bool], bins: Int) -> Double {
        JointHistogram(a, b, valid: valid, bins: bins)?.mutualInformation ?? 0
    }
}

/// The joint histogram of fixed (a) and moving (b) samples with linear partial-volume binning
/// (each sample spreads over the four bins around it), as the mutual-information cost and its
/// derivative both read it. Bin ranges are the valid samples' min and max.
struct JointHistogram {
    let bins: Int
    let aLow: Float, aScale: Float, bLow: Float, bScale: Float
    /// Probabilities p(i, j) (row i: fixed bin) and the marginals.
    var joint: [Double]
    var pa: [Double], pb: [Double]
    let total: Double

    init?(_ a: [Float], _ b: [Float], valid: [Bool], bins: Int) {
        var (alo, ahi, blo, bhi) = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        for i in 0..<a.count where valid[i] { alo = min(alo, a[i]); ahi = max(ahi, a[i]); blo = min(blo, b[i]); bhi = max(bhi, b[i]) }
        guard ahi > alo, bhi > blo else { return nil }
        self.bins = bins
        aLow = alo; bLow = blo
        aScale = Float(bins - 1) / (ahi - alo); bScale = Float(bins - 1) / (bhi - blo)
        var joint = [Double](repeating: 0, count: bins * bins)
        var total = 0.0
        for i in 0..<a.count where valid[i] {
            let (x0, fx, y0, fy) = Self.corner(a[i], b[i], aLow, aScale, bLow, bScale, bins)
            joint[x0 * bins + y0] += (1 - fx) * (1 - fy)
            joint[(x0 + 1) * bins + y0] += fx * (1 - fy)
            joint[x0 * bins + y0 + 1] += (1 - fx) * fy
            joint[(x0 + 1) * bins + y0 + 1] += fx * fy
            total += 1
        }
        guard total > 0 else { return nil }
        var pa = [Double](repeating: 0, count: bins), pb = [Double](repeating: 0, count: bins)
        for i in 0..<bins { for j in 0..<bins { let p = joint[i * bins + j] / total; joint[i * bins + j] = p; pa[i] += p; pb[j] += p } }
        self.joint = joint; self.pa = pa; self.pb = pb; self.total = total
    }

    @inline(__always)
    static func corner(_ a: Float, _ b: Float, _ alo: Float, _ sa: Float, _ blo: Float, _ sb: Float, _ bins: Int) -> (Int, Double, Int, Double) {
        let x = (a - alo) * sa, y = (b - blo) * sb
        let x0 = min(Int(x), bins - 2), y0 = min(Int(y), bins - 2)
        return (x0, Double(x - Float(x0)), y0, Double(y - Float(y0)))
    }

    var mutualInformation: Double {
        var mi = 0.0
        for i in 0..<bins { for j in 0..<bins {
            let p = joint[i * bins + j]
            if p > 0 { mi += p * log(p / (pa[i] * pb[j])) }
        } }
        return mi
    }

    /// ∂MI/∂bᵢ for every sample (0 where invalid), with the bin ranges held fixed (Mattes et al.): MI
    /// = Σ p log p − Σ pa log pa − Σ pb log pb gives ∂MI/∂p(i, j) = log(p(i, j) / (pa(i)·pb(j))) − 1,
    /// and a sample's weight moves between bins y₀ and y₀+1 at rate bScale per unit intensity, so
    /// ∂MI/∂b = bScale / total · Σ over its two fixed bins of w(x)·(G(x, y₀+1) − G(x, y₀)) (the −1s
    /// cancel). Empty bins count as G = 0.
    func derivative(_ a: [Float], _ b: [Float], valid: [Bool]) -> [Float] {
        var g = [Double](repeating: 0, count: bins * bins)
        for i in 0..<bins { for j in 0..<bins {
            let p = joint[i * bins + j]
            if p > 0 { g[i * bins + j] = log(p / (pa[i] * pb[j])) }
        } }
        let k = Double(bScale) / total
        var d = [Float](repeating: 0, count: a.count)
        for i in 0..<a.count where valid[i] {
            let (x0, fx, y0, _) = Self.corner(a[i], b[i], aLow, aScale, bLow, bScale, bins)
            let r0 = x0 * bins + y0, r1 = (x0 + 1) * bins + y0
            d[i] = Float(k * ((1 - fx) * (g[r0 + 1] - g[r0]) + fx * (g[r1 + 1] - g[r1])))
        }
        return d
    }
}
