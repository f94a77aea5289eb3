import Foundation
import GantryCore

/// The registration types the CLI and pipeline stages offer.
public enum RegistrationType: String, CaseIterable, Sendable {
    case rigid, affine
    /// Affine followed by diffeomorphic, inverse-consistent deformable registration (log-domain demons).
    case syn
}

/// A finished registration: fixed world → moving world is x ↦ affine(x + field(x)).
public struct RegistrationResult: Sendable {
    public var affine: Affine
    public var field: DisplacementField?
    public var inverseField: DisplacementField?
    public var seconds: Double

    typealias PointMap = ((Double, Double, Double)) -> (Double, Double, Double)

    /// Fixed world → moving world: x ↦ A(x + u(x)).
    func forwardMap() -> PointMap {
        let a = affine, f = field, fv = field?.toVoxel
        return { x in
            guard let f, let fv else { return a.apply(x) }
            let u = f.value(atVoxel: fv.apply(x))
            return a.apply((x.0 + Double(u.0), x.1 + Double(u.1), x.2 + Double(u.2)))
        }
    }

    /// Moving world → fixed world: y ↦ z + w(z), z = A⁻¹y, w the inverse field — the exact
    /// `inverseField` when the registration made one, else `field.inverted()`.
    func inverseMap() throws -> PointMap {
        guard let back = affine.inverse else { throw GantryError.invalidArgument("the affine transform is singular") }
        let w = inverseField ?? field?.inverted(), wv = w?.toVoxel
        return { y in
            let z = back.apply(y)
            guard let w, let wv else { return z }
            let d = w.value(atVoxel: wv.apply(z))
            return (z.0 + Double(d.0), z.1 + Double(d.1), z.2 + Double(d.2))
        }
    }

    /// Source-image voxel coordinates for every voxel of a target grid (`gridAffine`): forward, the
    /// source is on the moving side and the grid on the fixed side; `inverse`, the other way round.
    func positions(source: Volume, gridAffine: Affine, inverse: Bool = false) throws -> (Int, Int, Int) -> (Double, Double, Double) {
        guard let toSource = source.affine.inverse else { throw GantryError.invalidArgument("image affine is singular") }
        let map = inverse ? try inverseMap() : forwardMap()
        return { i, j, k in toSource.apply(map(gridAffine.apply((Double(i), Double(j), Double(k))))) }
    }

    /// `image` resampled onto `grid`'s voxels (its affine and header kept): the moving image onto
    /// the fixed grid, or with `inverse` an image on the fixed side onto the moving grid.
    public func warp(_ image: Volume, onto grid: Volume, interpolation: Interpolation = .linear, inverse: Bool = false) throws -> Volume {
        let p = try positions(source: image, gridAffine: grid.affine, inverse: inverse)
        return try grid.with(data: Warp.sample(image, shape: grid.spatialShape, interpolation: interpolation, position: p).data)
    }

    /// A label map resampled onto `grid` (per-label linear interpolation + argmax), either direction.
    public func warpLabels(_ labels: Volume, onto grid: Volume, inverse: Bool = false) throws -> Volume {
        let values = Set(labels.data.map { Int($0.rounded()) }).filter { $0 != 0 }.sorted()
        let p = try positions(source: labels, gridAffine: grid.affine, inverse: inverse)
        return try grid.with(data: Warp.labels(labels, labels: values, shape: grid.spatialShape, position: p))
    }

    /// Jacobian determinant summary of the deformable part (min, fraction ≤ 0); nil for linear transforms.
    public var jacobian: (min: Double, negativeFraction: Double)? {
        guard let f = field else { return nil }
        let j = f.jacobianDeterminant()
        return (Double(j.min() ?? 1), Double(j.filter { $0 <= 0 }.count) / Double(max(1, j.count)))
    }

    /// Mean |φ⁻¹∘φ − id| in mm over the grid.
    public var inverseConsistencyError: Double? {
        guard let f = field, let g = inverseField else { return nil }
        let r = g.composed(after: f)
        var s = 0.0
        for o in 0..<r.count { s += Double((r.u[0][o] * r.u[0][o] + r.u[1][o] * r.u[1][o] + r.u[2][o] * r.u[2][o]).squareRoot()) }
        return s / Double(max(1, r.count))
    }
}

public enum Registration {
    /// Fewest voxels along any axis a registration takes: the pyramid halves the grid twice and the
    /// gradients need neighbours on both sides.
    public static let minimumExtent = 4

    /// An image as registration takes it, or a one-line error naming `source`: one 3D volume (a 4D
    /// file with a single frame is fine) at least `minimumExtent` voxels along every axis, with
    /// finite voxels (non-finite ones set to 0 with a warning, `Volume.replacingNonFinite`) that are
    /// not all equal. Intensities beyond ±1e15 (where squared differences overflow Float) are
    /// scaled down for the similarity; the warped output keeps the original values.
    public static func checkedInput(_ v: Volume, source: String, progress: (String) -> Void = { _ in }) throws -> Volume {
        guard v.frames == 1 else { throw GantryError.invalidFile(path: source, problem: "registration takes one 3D volume; this image has shape \(v.shape)") }
        guard v.spatialShape.allSatisfy({ $0 >= minimumExtent }) else {
            throw GantryError.invalidFile(path: source, problem: "registration needs at least \(minimumExtent) voxels along every axis; shape is \(v.spatialShape.map(String.init).joined(separator: "×")) (2D and single-slice images are not registered)")
        }
        let (finite, replaced) = try v.replacingNonFinite(source: source)
        if replaced > 0 { progress("warning: \(source): \(replaced) non-finite voxel(s) set to 0") }
        let s = finite.statistics
        guard s.max > s.min else { throw GantryError.invalidFile(path: source, problem: "constant intensity \(s.min): nothing to register") }
        return finite
    }

    /// The same image scaled into ±1e15 when its values reach beyond (for the similarity only).
    static func tamed(_ v: Volume) throws -> Volume {
        let s = v.statistics, peak = max(abs(s.min), abs(s.max))
        guard peak > 1e15 else { return v }
        let k = Float(1e15 / Double(peak))
        return try v.with(data: v.data.map { $0 * k })
    }

    /// Registers `moving` to `fixed` (both brought to RAS voxel order internally; world positions
    /// are unchanged, so results apply to the original grids). `masks` restrict where the images
    /// are compared, as ANTs' `-x fixedMask,movingMask` does.
    public static func run(fixed: Volume, moving: Volume, type: RegistrationType, metric: Similarity = .ncc, deformableMetric: DeformableSimilarity = .standard, masks: RegistrationMasks = .init(),
                           progress: @escaping (String) -> Void = { _ in }) throws -> RegistrationResult {
        let t0 = Date()
        let f = try tamed(fixed.reorientedToRAS()), m = try tamed(moving.reorientedToRAS())
        let masks = try masks.reorientedToRAS()
        let kind: AffineTransform.Kind = type == .rigid ? .rigid : .affine
        progress("\(kind.rawValue) (\(metric.rawValue))")
        // Before a deformable stage the affine stops at half resolution: on the Colin27 benchmark
        // pair its full-resolution level cost 7 of 15 s and changed the final AAL Dice by 0.0002
        // (the demons' finest level does that refinement anyway).
        var linearStage = AffineRegistration(kind: kind, metric: metric)
        if type == .syn { linearStage.levels = linearStage.levels.filter { $0.shrink > 1 } }
        let linear = try linearStage.run(fixed: f, moving: m, masks: masks, progress: progress).matrix
        var result = RegistrationResult(affine: linear, field: nil, inverseField: nil, seconds: 0)
        if type == .syn {
            progress("deformable (symmetric log-domain demons, \(deformableMetric.rawValue))")
            var demons = Demons()
            demons.similarity = deformableMetric
            let d: Demons.Result
            switch deformableMetric {
            case .mse:
                // Squared differences see the images inside their masks only (skull and scalp set
                // to 0, as a brain extraction would), forces coming from inside the fixed mask.
                d = try demons.run(fixed: try masks.applied(masks.fixed, to: f), moving: try masks.applied(masks.moving, to: m), prealign: linear,
                                   fixedMask: masks.fixed, progress: progress)
            case .lncc:
                // Correlation windows keep their neighbourhood (zeroing the outside would put a false
                // edge on every mask boundary); the masks choose which voxels push: within a window
                // of the fixed mask, with the moving sample inside the moving mask.
                d = try demons.run(fixed: f, moving: m, prealign: linear, fixedMask: masks.fixed, movingMask: masks.moving, progress: progress)
            }
            result.field = d.forward
            result.inverseField = d.inverse
        }
        result.seconds = Date().timeIntervalSince(t0)
        return result
    }
}

/// Where the images are compared: voxels inside the fixed mask, whose moving-side position falls
/// inside the moving mask (a brain mask, say, so skull and scalp do not pull the brain). Either may
/// be absent; any grid (they are read in world coordinates), non-zero = inside.
public struct RegistrationMasks: Sendable {
    public var fixed: Volume?
    public var moving: Volume?

    public init(fixed: Volume? = nil, moving: Volume? = nil) { self.fixed = fixed; self.moving = moving }

    func reorientedToRAS() throws -> RegistrationMasks {
        RegistrationMasks(fixed: try fixed.map { try $0.reorientedToRAS() }, moving: try moving.map { try $0.reorientedToRAS() })
    }

    /// `image` with its voxels outside `mask` set to 0 (unchanged without a mask).
    func applied(_ mask: Volume?, to image: Volume) throws -> Volume {
        guard let mask else { return image }
        let inside = try Self.inside(mask, on: image)
        return try image.with(data: zip(image.data, inside).map { $1 ? $0 : 0 })
    }

    /// `mask` on `grid`'s voxels as inside/outside (nearest neighbour; outside the mask's grid is outside).
    static func inside(_ mask: Volume, on grid: Volume) throws -> [Bool] {
        try mask.resampled(toShape: grid.spatialShape, affine: grid.affine, interpolation: .nearest).data.map { $0 > 0 }
    }
}
