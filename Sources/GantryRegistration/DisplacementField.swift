import Foundation
import GantryCore

/// A dense displacement field on a grid (`shape`, `affine`): u(x) in world mm (RAS), one value per
/// voxel and component, x fastest. The mapping it represents is x ↦ x + u(x).
public struct DisplacementField: Sendable {
    public var shape: [Int]
    public var affine: Affine
    /// Components x, y, z, each `shape.reduce(1, *)` values.
    public var u: [[Float]]

    public init(shape: [Int], affine: Affine) {
        self.shape = shape; self.affine = affine
        u = Array(repeating: [Float](repeating: 0, count: shape.reduce(1, *)), count: 3)
    }

    /// A field from its three components (each `shape.reduce(1, *)` values, x fastest).
    init(shape: [Int], affine: Affine, u: [[Float]]) {
        self.shape = shape; self.affine = affine; self.u = u
    }

    public var count: Int { shape.reduce(1, *) }

    /// World → voxel matrix of the grid.
    public var toVoxel: Affine { affine.inverse ?? .identity }

    /// u at a world point (trilinear, zero outside).
    @inline(__always)
    func value(atVoxel p: (Double, Double, Double)) -> (Float, Float, Float) {
        let s = shape
        let (x, y, z) = p
        guard x >= 0, y >= 0, z >= 0, x <= Double(s[0] - 1), y <= Double(s[1] - 1), z <= Double(s[2] - 1) else {
            // clamp to the border (fields are smooth; zero would tear the edge)
            return value(atVoxel: (min(max(x, 0), Double(s[0] - 1)), min(max(y, 0), Double(s[1] - 1)), min(max(z, 0), Double(s[2] - 1))))
        }
        let x0 = min(Int(x), s[0] - 2), y0 = min(Int(y), s[1] - 2), z0 = min(Int(z), s[2] - 2)
        let fx = Float(x - Double(x0)), fy = Float(y - Double(y0)), fz = Float(z - Double(z0))
        func lerp(_ c: [Float]) -> Float {
            @inline(__always) func v(_ a: Int, _ b: Int, _ cc: Int) -> Float { c[a + s[0] * (b + s[1] * cc)] }
            let c00 = v(x0, y0, z0) + (v(x0 + 1, y0, z0) - v(x0, y0, z0)) * fx
            let c10 = v(x0, y0 + 1, z0) + (v(x0 + 1, y0 + 1, z0) - v(x0, y0 + 1, z0)) * fx
            let c01 = v(x0, y0, z0 + 1) + (v(x0 + 1, y0, z0 + 1) - v(x0, y0, z0 + 1)) * fx
            let c11 = v(x0, y0 + 1, z0 + 1) + (v(x0 + 1, y0 + 1, z0 + 1) - v(x0, y0 + 1, z0 + 1)) * fx
            let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
            return c0 + (c1 - c0) * fz
        }
        return (lerp(u[0]), lerp(u[1]), lerp(u[2]))
    }

    /// (self ∘ other)(x) = other(x) + self(x + other(x)): apply `other` first. Both fields live on
    /// this grid, so the sample point of voxel p is p + L⁻¹·u_other(p) (L the grid's linear part);
    /// self is read trilinearly, clamped to the border as `value(atVoxel:)`.
    public func composed(after other: DisplacementField) -> DisplacementField {
        var out = DisplacementField(shape: shape, affine: affine)
        let (nx, ny, nz) = (shape[0], shape[1], shape[2]), inv = toVoxel
        let (l00, l01, l02) = (Float(inv[0, 0]), Float(inv[0, 1]), Float(inv[0, 2]))
        let (l10, l11, l12) = (Float(inv[1, 0]), Float(inv[1, 1]), Float(inv[1, 2]))
        let (l20, l21, l22) = (Float(inv[2, 0]), Float(inv[2, 1]), Float(inv[2, 2]))
        let n = count
        var r0 = [Float](repeating: 0, count: n), r1 = r0, r2 = r0
        r0.withUnsafeMutableBufferPointer { b0 in r1.withUnsafeMutableBufferPointer { b1 in r2.withUnsafeMutableBufferPointer { b2 in
        u[0].withUnsafeBufferPointer { s0 in u[1].withUnsafeBufferPointer { s1 in u[2].withUnsafeBufferPointer { s2 in
        other.u[0].withUnsafeBufferPointer { o0 in other.u[1].withUnsafeBufferPointer { o1 in other.u[2].withUnsafeBufferPointer { o2 in
            let (p0, p1, p2) = (b0.baseAddress!, b1.baseAddress!, b2.baseAddress!)
            let (f0, f1, f2) = (s0.baseAddress!, s1.baseAddress!, s2.baseAddress!)
            let (g0, g1, g2) = (o0.baseAddress!, o1.baseAddress!, o2.baseAddress!)
            let (hx, hy, hz) = (Float(nx - 1), Float(ny - 1), Float(nz - 1))
            Parallel.forEach(nz) { k in
                for j in 0..<ny { for i in 0..<nx {
                    let o = i + nx * (j + ny * k)
                    let (ux, uy, uz) = (g0[o], g1[o], g2[o])
                    let x = min(max(Float(i) + l00 * ux + l01 * uy + l02 * uz, 0), hx)
                    let y = min(max(Float(j) + l10 * ux + l11 * uy + l12 * uz, 0), hy)
                    let z = min(max(Float(k) + l20 * ux + l21 * uy + l22 * uz, 0), hz)
                    let q = Warp.Corners(nx, ny, nz, x, y, z)
                    p0[o] = ux + q.read(f0); p1[o] = uy + q.read(f1); p2[o] = uz + q.read(f2)
                } }
            }
        } } } } } } } } }
        out.u = [r0, r1, r2]
        return out
    }

    /// The largest displacement length in the field (mm).
    public var maxNorm: Float {
        var peak: Float = 0
        u[0].withUnsafeBufferPointer { a in u[1].withUnsafeBufferPointer { b in u[2].withUnsafeBufferPointer { c in
            for o in 0..<a.count { peak = max(peak, a[o] * a[o] + b[o] * b[o] + c[o] * c[o]) }
        } } }
        return peak.squareRoot()
    }

    /// exp(v) of a stationary velocity field by scaling and squaring (a diffeomorphism when the
    /// scaled field moves less than half a voxel).
    public static func exponential(_ v: DisplacementField) -> DisplacementField {
        let sp = v.affine.columnNorms.min() ?? 1
        let maxNorm = v.maxNorm
        var steps = 0
        while Double(maxNorm) / Double(1 << steps) > 0.5 * sp && steps < 20 { steps += 1 }
        var phi = v
        let f = 1 / Float(1 << steps)
        for c in 0..<3 { phi.u[c] = v.u[c].map { $0 * f } }
        for _ in 0..<steps { phi = phi.composed(after: phi) }
        return phi
    }

    /// The numerical inverse w of x ↦ x + u(x) on the same grid, so that y ↦ y + w(y) undoes it:
    /// the fixed-point iteration w ← −u(y + w(y)) (Chen et al. 2008), which converges where the
    /// mapping is invertible with a Lipschitz constant of u below 1 (any smooth, unfolded field).
    /// Stops when the largest residual |w(y) + u(y + w(y))| is below `tolerance` mm. For a field
    /// that is exp(v) the exact inverse is exp(−v); this is for fields that came without one.
    public func inverted(tolerance: Float = 1e-3, maxIterations: Int = 50) -> DisplacementField {
        var w = self
        for c in 0..<3 { w.u[c] = u[c].map { -$0 } }
        for _ in 0..<maxIterations {
            // (u ∘ w)(y) = w(y) + u(y + w(y)), so the update −u(y + w(y)) is w − (u ∘ w)
            let uw = composed(after: w)
            var residual: Float = 0
            for c in 0..<3 {
                w.u[c].withUnsafeMutableBufferPointer { wb in uw.u[c].withUnsafeBufferPointer { ub in
                    for o in 0..<wb.count {
                        residual = max(residual, abs(ub[o]))
                        wb[o] -= ub[o]
                    }
                } }
            }
            if residual < tolerance { break }
        }
        return w
    }

    /// A displacement field read back from a volume in any of the layouts found in the wild:
    /// - ITK/ANTs (`volume()` writes it; ANTs' `*Warp.nii.gz`): 5D [x, y, z, 1, 3], intent 1007
    ///   (vector) or none, vectors in mm in ITK's LPS physical space;
    /// - 5D with intent 1006 (`NIFTI_INTENT_DISPVECT`): vectors in NIfTI's RAS, as the standard says
    ///   and as ITK ≥ 5.x converts them to LPS when reading;
    /// - Gantry before 0.2 and nibabel habits: 4D [x, y, z, 3] in mm, RAS.
    public init(volume v: Volume) throws {
        let itk = v.shape.count == 5 && v.shape[3] == 1 && v.shape[4] == 3, legacy = v.shape.count == 4 && v.shape[3] == 3
        guard itk || legacy else {
            throw GantryError.invalidArgument("a displacement field needs shape [x, y, z, 1, 3] (ITK/ANTs) or [x, y, z, 3], not \(v.shape)")
        }
        let n = v.spatialCount
        let c = (0..<3).map { c in Array(v.data[(c * n)..<((c + 1) * n)]) }
        let lps = itk && v.header?.intentCode != DisplacementField.intentDisplacementVector
        self.init(shape: Array(v.shape.prefix(3)), affine: v.affine, u: lps ? [c[0].map { -$0 }, c[1].map { -$0 }, c[2]] : c)
    }

    /// Jacobian determinant of x ↦ x + u(x) at every voxel (central differences, world mm).
    public func jacobianDeterminant() -> [Float] {
        let s = shape, sp = affine.columnNorms
        // Axis-aligned grid assumed for the differences (resampled grids are); directions from the affine.
        var out = [Float](repeating: 1, count: count)
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let o = i + s[0] * (j + s[1] * k)
            func d(_ c: Int, _ axis: Int) -> Float {
                let (st, idx, n) = axis == 0 ? (1, i, s[0]) : axis == 1 ? (s[0], j, s[1]) : (s[0] * s[1], k, s[2])
                let lo = idx > 0 ? o - st : o, hi = idx < n - 1 ? o + st : o
                let h = Float(sp[axis]) * Float((idx > 0 ? 1 : 0) + (idx < n - 1 ? 1 : 0))
                return h > 0 ? (u[c][hi] - u[c][lo]) / h : 0
            }
            // ∂u_c/∂(voxel axis) / spacing ≈ ∂u_c/∂x_world along that axis direction (RAS-aligned grids).
            let m = [[1 + d(0, 0), d(0, 1), d(0, 2)], [d(1, 0), 1 + d(1, 1), d(1, 2)], [d(2, 0), d(2, 1), 1 + d(2, 2)]]
            out[o] = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        } } }
        return out
    }

    /// The field resampled onto another grid (components interpolated, values in mm unchanged).
    public func resampled(toShape target: [Int], affine targetAffine: Affine) throws -> DisplacementField {
        var out = DisplacementField(shape: target, affine: targetAffine)
        for c in 0..<3 {
            let v = try Volume(shape: shape, affine: affine, data: u[c])
            out.u[c] = try v.resampled(toShape: target, affine: targetAffine, interpolation: .linear, fill: 0).data
        }
        return out
    }

    /// Gaussian smoothing of each component (σ in mm).
    public func smoothed(sigmaMM: Double) throws -> DisplacementField {
        guard sigmaMM > 0 else { return self }
        var out = self
        for c in 0..<3 { out.u[c] = try Volume(shape: shape, affine: affine, data: u[c]).gaussianSmoothed(sigmaMM: [sigmaMM, sigmaMM, sigmaMM]).data }
        return out
    }

    /// NIfTI intent codes: 1006 displacement vectors (stored RAS), 1007 vectors (ITK writes LPS).
    public static let intentDisplacementVector: Int32 = 1006
    public static let intentVector: Int32 = 1007

    /// As ANTs stores a displacement field (`*Warp.nii.gz`): a 5D volume [x, y, z, 1, 3] of vectors in
    /// mm in LPS (x and y negated from Gantry's RAS), to be written with intent 1007 (vector) as ITK
    /// writes it. Not 1006: ITK ≥ 5.x takes 1006 vectors as RAS and converts them, older ITK does
    /// not, so only the ANTs form is read the same by every version of antsApplyTransforms, antspyx
    /// and SimpleITK.
    public func volume() throws -> Volume {
        try Volume(shape: shape + [1, 3], affine: affine, data: u[0].map { -$0 } + u[1].map { -$0 } + u[2])
    }
}
