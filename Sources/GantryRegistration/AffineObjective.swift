import Foundation
import GantryCore

/// The affine optimiser's cost at one pyramid level, and — for MSE, NCC and MI — its gradient in one
/// pass, as ITK's metrics compute it: the metric's derivative with respect to each warped sample
/// times the moving image's gradient there (central differences, read through the same trilinear
/// corners as the sample) times the sample point's derivative with respect to the parameters.
/// Because the point is A(p)·x, that last factor is linear in x: the pass accumulates one 3×4 sum
/// Σ ∂C/∂mᵢ · ∇M(yᵢ) ⊗ (xᵢ, 1), and each parameter's derivative is that sum's inner product with
/// ∂A/∂pₖ (taken from the 4×4 matrix, so any parameterisation works). One warp per evaluation
/// replaces the 24 of central finite differences.
struct AffineObjective {
    let fixed: Volume
    let moving: Volume
    let metric: Similarity
    let centre: [Double]
    /// ∂M/∂(voxel index) per axis, stacked x, y, z, on the moving grid.
    let movingGradient: [Float]
    /// Fixed voxel → moving voxel = toMovingVoxel · A(p) · fixedAffine.
    let toMovingVoxel: Affine
    /// Fixed voxels the cost may use (a fixed mask on this level's grid), and the moving mask on the
    /// moving level grid, read through the same map as the image.
    let fixedInside: [Bool]?
    let movingMask: Volume?

    init(fixed: Volume, moving: Volume, metric: Similarity, centre: [Double], fixedInside: [Bool]? = nil, movingMask: Volume? = nil) throws {
        guard let inv = moving.affine.inverse else { throw GantryError.invalidArgument("moving image affine is singular") }
        self.fixed = fixed; self.moving = moving; self.metric = metric; self.centre = centre
        self.fixedInside = fixedInside; self.movingMask = movingMask
        toMovingVoxel = inv
        movingGradient = metric.hasSampleDerivative ? Self.voxelGradient(moving) : []
    }

    func matrix(_ p: [Double]) -> Affine { AffineTransform(parameters: p, centre: centre).matrix }

    func cost(_ p: [Double]) -> Double {
        let map = toMovingVoxel * matrix(p) * fixed.affine
        let w = Warp.sampleAffine(moving, shape: fixed.spatialShape, voxelMap: map, interpolation: .linear)
        return metric.cost(fixed.data, w.data, valid: masked(w.valid, map: map), shape: fixed.spatialShape)
    }

    /// `valid` narrowed to the fixed mask and to samples landing inside the moving mask.
    func masked(_ valid: [Bool], map: Affine) -> [Bool] {
        guard fixedInside != nil || movingMask != nil else { return valid }
        var v = valid
        if let f = fixedInside { for i in v.indices where !f[i] { v[i] = false } }
        if let m = movingMask {
            let w = Warp.sampleAffine(m, shape: fixed.spatialShape, voxelMap: map, interpolation: .linear)
            for i in v.indices where w.data[i] < 0.5 { v[i] = false }
        }
        return v
    }

    /// Cost and gradient with respect to the first `active` parameters; nil when the metric has no
    /// per-sample derivative (local NCC: the caller uses finite differences).
    func costAndGradient(_ p: [Double], active: Int) -> (cost: Double, gradient: [Double])? {
        guard metric.hasSampleDerivative else { return nil }
        let a = matrix(p)
        let s = fixed.spatialShape, n = fixed.count
        let map = toMovingVoxel * a * fixed.affine
        let w = Warp.sampleAffine(moving, shape: s, voxelMap: map, interpolation: .linear, extra: movingGradient)
        guard let (cost, dC) = metric.sampleDerivative(fixed.data, w.data, valid: masked(w.valid, map: map)) else { return (.infinity, [Double](repeating: 0, count: active)) }
        // Σ dC/dmᵢ · ∇ᵥM(vᵢ) ⊗ (i, j, k, 1) in voxel indices, per plane then in plane order (deterministic).
        let (nx, ny, nz) = (s[0], s[1], s[2])
        var planes = [Double](repeating: 0, count: nz * 12)
        dC.withUnsafeBufferPointer { db in w.extra.withUnsafeBufferPointer { gb in planes.withUnsafeMutableBufferPointer { pb in
            let (d, g, acc) = (db.baseAddress!, gb.baseAddress!, pb.baseAddress!)
            Parallel.forEach(nz, work: n * 12) { k in
                var sum = [Double](repeating: 0, count: 12)
                for j in 0..<ny {
                    // per row: Σ over i of a·i and of a, for each gradient axis a
                    var rowI = SIMD3<Double>(), rowOne = SIMD3<Double>()
                    for i in 0..<nx {
                        let o = i + nx * (j + ny * k)
                        let c = d[o]
                        if c == 0 { continue }
                        let v = SIMD3<Double>(Double(g[o]), Double(g[n + o]), Double(g[2 * n + o])) * Double(c)
                        rowI += v * Double(i); rowOne += v
                    }
                    for r in 0..<3 {
                        sum[r * 4] += rowI[r]; sum[r * 4 + 1] += rowOne[r] * Double(j)
                        sum[r * 4 + 2] += rowOne[r] * Double(k); sum[r * 4 + 3] += rowOne[r]
                    }
                }
                for e in 0..<12 { acc[k * 12 + e] = sum[e] }
            }
        } } }
        var wIdx = [Double](repeating: 0, count: 12)
        for k in 0..<nz { for e in 0..<12 { wIdx[e] += planes[k * 12 + e] } }
        // To world: ∂vᵢ/∂p = L·(∂A/∂p)·F·(i, j, k, 1) with L the linear part of moving⁻¹, F the fixed
        // affine, so ∂C/∂p = ⟨Lᵀ · W_idx · Fᵀ, ∂A/∂p⟩ over the top 3×4 block.
        let f = fixed.affine, l = toMovingVoxel
        var world = [Double](repeating: 0, count: 12)
        for r in 0..<3 { for c in 0..<4 {
            var acc = 0.0
            for q in 0..<3 { for e in 0..<4 { acc += l[q, r] * wIdx[q * 4 + e] * f[c, e] } }
            world[r * 4 + c] = acc
        } }
        var gradient = [Double](repeating: 0, count: active)
        for k in 0..<active {
            // ∂A/∂pₖ by a central difference on the matrix alone (smooth functions of p; no image involved)
            let h = 1e-6
            var up = p, down = p
            up[k] += h; down[k] -= h
            let (mu, md) = (matrix(up), matrix(down))
            var g = 0.0
            for r in 0..<3 { for c in 0..<4 { g += world[r * 4 + c] * (mu[r, c] - md[r, c]) / (2 * h) } }
            gradient[k] = g
        }
        return (cost, gradient)
    }

    /// Central differences per voxel axis (one-sided on the faces), stacked x, y, z.
    static func voxelGradient(_ v: Volume) -> [Float] {
        let s = v.spatialShape, n = v.count
        var out = [Float](repeating: 0, count: 3 * n)
        let strides = [1, s[0], s[0] * s[1]]
        v.data.withUnsafeBufferPointer { db in out.withUnsafeMutableBufferPointer { ob in
            let (d, g) = (db.baseAddress!, ob.baseAddress!)
            Parallel.forEach(s[2], work: 3 * n) { k in
                for j in 0..<s[1] { for i in 0..<s[0] {
                    let o = i + s[0] * (j + s[1] * k)
                    for a in 0..<3 {
                        let at = a == 0 ? i : a == 1 ? j : k
                        let lo = at > 0 ? o - strides[a] : o, hi = at < s[a] - 1 ? o + strides[a] : o
                        let span = Float((at > 0 ? 1 : 0) + (at < s[a] - 1 ? 1 : 0))
                        g[a * n + o] = span > 0 ? (d[hi] - d[lo]) / span : 0
                    }
                } }
            }
        } }
        return out
    }
}

extension Similarity {
    /// Whether `sampleDerivative` exists for this metric.
    var hasSampleDerivative: Bool { self == .mse || self == .ncc || self == .mi }

    /// The cost (as `cost`) and ∂cost/∂mᵢ for every sample (0 where invalid), for MSE, NCC and MI;
    /// nil when too few voxels are valid (or, for MI, the samples are constant).
    func sampleDerivative(_ fixed: [Float], _ moving: [Float], valid: [Bool]) -> (Double, [Float])? {
        var d = [Float](repeating: 0, count: fixed.count)
        switch self {
        case .mse:
            let n = valid.reduce(0) { $0 + ($1 ? 1 : 0) }
            guard n > 0 else { return nil }
            var s = 0.0
            for i in 0..<fixed.count where valid[i] {
                let r = Double(fixed[i] - moving[i])
                s += r * r
                d[i] = Float(-2 * r / Double(n))
            }
            return (s / Double(n), d)
        case .ncc:
            var sf = 0.0, sm = 0.0, sff = 0.0, smm = 0.0, sfm = 0.0, n = 0.0
            for i in 0..<fixed.count where valid[i] {
                let (f, m) = (Double(fixed[i]), Double(moving[i]))
                sf += f; sm += m; sff += f * f; smm += m * m; sfm += f * m; n += 1
            }
            guard n > 1 else { return nil }
            let cov = sfm - sf * sm / n, vf = sff - sf * sf / n, vm = smm - sm * sm / n
            guard vf > 0, vm > 0 else { return (0, d) }   // as `cost`: no correlation to follow
            // C = −cov/√(vf·vm): ∂C/∂mᵢ = −(fᵢ − f̄)/√(vf·vm) + cov·(mᵢ − m̄)/(√vf · vm^{3/2})
            let (fBar, mBar) = (sf / n, sm / n), root = (vf * vm).squareRoot()
            let a = -1 / root, b = cov / (root * vm)
            for i in 0..<fixed.count where valid[i] { d[i] = Float(a * (Double(fixed[i]) - fBar) + b * (Double(moving[i]) - mBar)) }
            return (-cov / root, d)
        case .mi:
            // cost = −MI, so its derivative is −∂MI/∂m.
            guard let h = JointHistogram(fixed, moving, valid: valid, bins: 32) else { return nil }
            return (-h.mutualInformation, h.derivative(fixed, moving, valid: valid).map { -$0 })
        case .lncc:
            return nil
        }
    }
}
