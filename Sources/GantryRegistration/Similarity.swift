import Foundation
import GantryCore

/// Image similarity metrics, written as costs to minimise (lower is better), over voxels where the
/// warped moving image is defined (`valid`).
public enum Similarity: String, Sendable, CaseIterable {
    /// Mean squared difference: same modality, same intensity scale.
    case mse
    /// Negative normalised cross-correlation: same modality, any linear intensity relation.
    case ncc
    /// Negative mutual information (joint histogram, 32 bins, linear partial-volume binning, as
    /// Mattes): different contrasts.
    case mi

    public func cost(_ fixed: [Float], _ moving: [Float], valid: [Bool]) -> Double {
        switch self {
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

    static func mutualInformation(_ a: [Float], _ b: [Float], valid: [Bool], bins: Int) -> Double {
        var (alo, ahi, blo, bhi) = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        for i in 0..<a.count where valid[i] { alo = min(alo, a[i]); ahi = max(ahi, a[i]); blo = min(blo, b[i]); bhi = max(bhi, b[i]) }
        guard ahi > alo, bhi > blo else { return 0 }
        var joint = [Double](repeating: 0, count: bins * bins)
        let sa = Float(bins - 1) / (ahi - alo), sb = Float(bins - 1) / (bhi - blo)
        var total = 0.0
        for i in 0..<a.count where valid[i] {
            let x = (a[i] - alo) * sa, y = (b[i] - blo) * sb
            let x0 = min(Int(x), bins - 2), y0 = min(Int(y), bins - 2)
            let fx = Double(x - Float(x0)), fy = Double(y - Float(y0))
            joint[x0 * bins + y0] += (1 - fx) * (1 - fy)
            joint[(x0 + 1) * bins + y0] += fx * (1 - fy)
            joint[x0 * bins + y0 + 1] += (1 - fx) * fy
            joint[(x0 + 1) * bins + y0 + 1] += fx * fy
            total += 1
        }
        guard total > 0 else { return 0 }
        var pa = [Double](repeating: 0, count: bins), pb = [Double](repeating: 0, count: bins)
        for i in 0..<bins { for j in 0..<bins { let p = joint[i * bins + j] / total; joint[i * bins + j] = p; pa[i] += p; pb[j] += p } }
        var mi = 0.0
        for i in 0..<bins { for j in 0..<bins {
            let p = joint[i * bins + j]
            if p > 0 { mi += p * log(p / (pa[i] * pb[j])) }
        } }
        return mi
    }
}
