import Foundation
import GantryCore

/// Diffeomorphic, inverse-consistent deformable registration: symmetric log-domain demons
/// (Vercauteren et al.). The deformation is exp(v) of a stationary velocity field v on the fixed
/// grid, so its inverse is exactly exp(−v); each iteration adds a demons force computed with the
/// symmetric (ESM) gradient ½(∇F + ∇(M∘φ)), smoothed by a fluid-like Gaussian, then regularises v
/// with a diffusion-like Gaussian. Multi-resolution (ANTs-style shrink/σ/iterations).
public struct Demons: Sendable {
    public var levels: [PyramidLevel] = [PyramidLevel(shrink: 4, sigma: 2, iterations: 40), PyramidLevel(shrink: 2, sigma: 1, iterations: 30), PyramidLevel(shrink: 1, sigma: 0, iterations: 30)]
    /// Smoothing of each update and of the accumulated velocity field, in voxels of the level.
    /// A wide fluid kernel with a light diffusion one (4 and 0.5) moved the AAL mean Dice of the
    /// Colin27 benchmark pair from 0.944 (1 and 1) to 0.950, and of a second pair with another
    /// random warp (seed 11) from 0.942 to 0.951, with the smallest Jacobian determinant rising.
    public var fluidSigma: Double = 4.0
    public var diffusionSigma: Double = 0.5
    /// Largest update per iteration, in voxels.
    public var maxStep: Double = 0.5

    public init(levels: [PyramidLevel]? = nil) { if let levels { self.levels = levels } }

    public struct Result: Sendable {
        /// Velocity field; forward = exp(v) (fixed world → moving world after `affine`), inverse = exp(−v).
        public var velocity: DisplacementField
        public var forward: DisplacementField
        public var inverse: DisplacementField
    }

    /// Registers `moving` to `fixed`; `prealign` (fixed world → moving world) is applied after the field.
    public func run(fixed: Volume, moving: Volume, prealign: Affine = .identity, progress: (String) -> Void = { _ in }) throws -> Result {
        let sp = fixed.spacing
        let normF = Demons.normaliser(fixed), normM = Demons.normaliser(moving)
        var v: DisplacementField? = nil
        for (li, level) in levels.enumerated() {
            var f = level.sigma > 0 ? try fixed.gaussianSmoothed(sigmaMM: sp.map { $0 * level.sigma }) : fixed
            var m = level.sigma > 0 ? try moving.gaussianSmoothed(sigmaMM: moving.spacing.map { $0 * level.sigma }) : moving
            if level.shrink > 1 {
                f = try f.resampled(toSpacing: sp.map { $0 * Double(level.shrink) })
                m = try m.resampled(toSpacing: moving.spacing.map { $0 * Double(level.shrink) })
            }
            f = try f.with(data: f.data.map { $0 / normF })
            m = try m.with(data: m.data.map { $0 / normM })
            var vl = try v?.resampled(toShape: f.spatialShape, affine: f.affine) ?? DisplacementField(shape: f.spatialShape, affine: f.affine)
            let gf = Demons.gradient(f)
            var lastMSE = 0.0
            for _ in 0..<level.iterations {
                let phi = DisplacementField.exponential(vl)
                let warped = try Demons.warp(m, through: phi, prealign: prealign)
                let gm = Demons.gradient(try f.with(data: warped))
                var update = DisplacementField(shape: f.spatialShape, affine: f.affine)
                let voxel = Float(f.spacing.reduce(0, +) / 3)
                let maxU = Float(maxStep) * voxel
                var mse = 0.0
                for o in 0..<f.count {
                    let diff = f.data[o] - warped[o]
                    mse += Double(diff * diff)
                    let (jx, jy, jz) = (0.5 * (gf[0][o] + gm[0][o]), 0.5 * (gf[1][o] + gm[1][o]), 0.5 * (gf[2][o] + gm[2][o]))
                    let denom = jx * jx + jy * jy + jz * jz + diff * diff / (voxel * voxel)
                    guard denom > 1e-9 else { continue }
                    // moving the sample point by u changes M∘φ by ≈ J·u: step towards F
                    var ux = diff * jx / denom, uy = diff * jy / denom, uz = diff * jz / denom
                    let norm = (ux * ux + uy * uy + uz * uz).squareRoot()
                    if norm > maxU { let s = maxU / norm; ux *= s; uy *= s; uz *= s }
                    update.u[0][o] = ux; update.u[1][o] = uy; update.u[2][o] = uz
                }
                lastMSE = mse / Double(f.count)
                update = try update.smoothed(sigmaMM: fluidSigma * Double(voxel))
                for c in 0..<3 { for o in 0..<f.count { vl.u[c][o] += update.u[c][o] } }
                vl = try vl.smoothed(sigmaMM: diffusionSigma * Double(voxel))
            }
            v = vl
            progress(String(format: "level %d/%d (shrink %d): %d iterations, MSE %.5f", li + 1, levels.count, level.shrink, level.iterations, lastMSE))
        }
        guard let velocity = v else { throw GantryError.invalidArgument("demons: no levels") }
        var negative = velocity
        for c in 0..<3 { negative.u[c] = velocity.u[c].map { -$0 } }
        return Result(velocity: velocity, forward: DisplacementField.exponential(velocity), inverse: DisplacementField.exponential(negative))
    }

    /// 99th percentile of positive intensities: both images are brought to a common scale.
    static func normaliser(_ v: Volume) -> Float {
        let p = v.data.filter { $0 > 0 }.sorted()
        return p.isEmpty ? 1 : max(p[p.count * 99 / 100], 1e-12)
    }

    /// Moving intensities on the field's grid through x ↦ prealign(x + φ(x)).
    static func warp(_ m: Volume, through phi: DisplacementField, prealign: Affine) throws -> [Float] {
        guard let inv = m.affine.inverse else { throw GantryError.invalidArgument("moving affine is singular") }
        let a = phi.affine
        let t = inv * prealign
        return Warp.sample(m, shape: phi.shape) { i, j, k in
            let o = i + phi.shape[0] * (j + phi.shape[1] * k)
            let w = a.apply((Double(i), Double(j), Double(k)))
            return t.apply((w.0 + Double(phi.u[0][o]), w.1 + Double(phi.u[1][o]), w.2 + Double(phi.u[2][o])))
        }.data
    }

    /// Image gradient in world mm per axis (central differences; RAS-aligned grids).
    static func gradient(_ v: Volume) -> [[Float]] {
        let s = v.spatialShape, sp = v.spacing
        var g = Array(repeating: [Float](repeating: 0, count: v.count), count: 3)
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let o = i + s[0] * (j + s[1] * k)
            let idx = [i, j, k], st = [1, s[0], s[0] * s[1]]
            for a in 0..<3 where idx[a] > 0 && idx[a] < s[a] - 1 {
                g[a][o] = (v.data[o + st[a]] - v.data[o - st[a]]) / Float(2 * sp[a])
            }
        } } }
        return g
    }
}
