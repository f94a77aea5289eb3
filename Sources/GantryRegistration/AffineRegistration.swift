import Foundation
import GantryCore

/// One level of a multi-resolution schedule (the ANTs idiom): shrink factor, smoothing σ in voxels of
/// the full-resolution grid, iterations.
public struct PyramidLevel: Sendable, Equatable {
    public var shrink: Int
    public var sigma: Double
    public var iterations: Int
    public init(shrink: Int, sigma: Double, iterations: Int) { self.shrink = shrink; self.sigma = sigma; self.iterations = iterations }
}

/// Rigid or affine registration: centre-of-mass initialisation, Gaussian pyramid, regular-step
/// gradient descent (ITK's) on finite-difference gradients in scaled parameters (rotations, scales
/// and shears scaled by the image radius, so one unit moves a voxel about as far as 1 mm of
/// translation); the step halves whenever the cost goes up and the level stops when it is below
/// 1 % of a voxel.
public struct AffineRegistration: Sendable {
    public var kind: AffineTransform.Kind = .affine
    public var metric: Similarity = .ncc
    public var levels: [PyramidLevel] = [PyramidLevel(shrink: 4, sigma: 2, iterations: 80), PyramidLevel(shrink: 2, sigma: 1, iterations: 60), PyramidLevel(shrink: 1, sigma: 0, iterations: 30)]

    public init(kind: AffineTransform.Kind = .affine, metric: Similarity = .ncc, levels: [PyramidLevel]? = nil) {
        self.kind = kind; self.metric = metric
        if let levels { self.levels = levels }
    }

    /// Intensity centre of mass in world mm (positive voxels).
    public static func centreOfMass(_ v: Volume) -> [Double] {
        let s = v.spatialShape
        var w = 0.0, c = [0.0, 0.0, 0.0]
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let x = Double(max(0, v.data[i + s[0] * (j + s[1] * k)]))
            if x == 0 { continue }
            let p = v.affine.apply((Double(i), Double(j), Double(k)))
            c[0] += x * p.0; c[1] += x * p.1; c[2] += x * p.2; w += x
        } } }
        return w > 0 ? c.map { $0 / w } : [0, 0, 0]
    }

    public func run(fixed: Volume, moving: Volume, masks: RegistrationMasks = .init(), progress: (String) -> Void = { _ in }) throws -> AffineTransform {
        let cf = Self.centreOfMass(fixed), cm = Self.centreOfMass(moving)
        var t = AffineTransform(parameters: [cm[0] - cf[0], cm[1] - cf[1], cm[2] - cf[2]], centre: cf)
        let s = fixed.spatialShape, sp = fixed.spacing
        let radius = max(1, 0.5 * (0..<3).map { Double(s[$0]) * sp[$0] }.reduce(0, +) / 3)
        let active = kind == .rigid ? 6 : 12
        // parameter scale: q = p · scale
        let scale = (0..<12).map { $0 < 3 ? 1.0 : radius }
        for (li, level) in levels.enumerated() {
            let sigmaMM = (0..<3).map { level.sigma * sp[$0] }
            var f = level.sigma > 0 ? try fixed.gaussianSmoothed(sigmaMM: sigmaMM) : fixed
            var m = level.sigma > 0 ? try moving.gaussianSmoothed(sigmaMM: moving.spacing.map { $0 * level.sigma }) : moving
            if level.shrink > 1 {
                f = try f.resampled(toSpacing: sp.map { $0 * Double(level.shrink) })
                m = try m.resampled(toSpacing: moving.spacing.map { $0 * Double(level.shrink) })
            }
            let voxel = f.spacing.reduce(0, +) / 3
            let fixedInside = try masks.fixed.map { try RegistrationMasks.inside($0, on: f) }
            let movingMask = try masks.moving.map { try $0.resampled(toShape: m.spatialShape, affine: m.affine, interpolation: .nearest) }
            let objective = try AffineObjective(fixed: f, moving: m, metric: metric, centre: t.centre, fixedInside: fixedInside, movingMask: movingMask)
            let h = 0.2 * voxel
            /// Analytic when the metric allows, else central differences of step h in scaled units.
            func evaluate(_ p: [Double]) -> (cost: Double, gradient: [Double]) {
                if let r = objective.costAndGradient(p, active: active) { return r }
                let g = (0..<active).map { i -> Double in
                    var a = p, b = p
                    a[i] += h / scale[i]; b[i] -= h / scale[i]
                    return (objective.cost(a) - objective.cost(b)) / (2 * h) * scale[i]
                }
                return (objective.cost(p), g)
            }
            var p = t.parameters
            var current = evaluate(p)
            var step = 2 * voxel
            var it = 0
            while it < level.iterations && step > 0.01 * voxel {
                it += 1
                // the gradient in scaled parameters q = p·scale: ∂C/∂q = ∂C/∂p / scale
                let g = (0..<active).map { current.gradient[$0] / scale[$0] }
                let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
                guard norm > 0 else { break }
                var q = p
                for i in 0..<active { q[i] -= step * g[i] / norm / scale[i] }
                let next = evaluate(q)
                if next.cost < current.cost { p = q; current = next } else { step *= 0.5 }
            }
            t.parameters = p
            progress(String(format: "level %d/%d (shrink %d, σ %.1f): %d iterations, cost %.5f", li + 1, levels.count, level.shrink, level.sigma, it, current.cost))
        }
        return t
    }
}
