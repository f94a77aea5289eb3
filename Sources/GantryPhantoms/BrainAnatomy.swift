import Foundation
import GantryCore
import GantryIO

/// The healthy anatomy a brain-tumour phantom starts from: tissue classes (CSF/GM/WM) and a T1
/// texture on one grid.
///
/// Real anatomy comes from the Colin27 template in Debian's `mricron-data` package (read from where
/// the package installs it, never copied into the repository): the skull-stripped T1 `ch2bet` is
/// split into CSF/GM/WM by 3-class k-means on intensity. Without the package, an ellipsoid brain
/// (no download, no data) stands in, so unit tests need nothing installed.
public struct BrainAnatomy: Sendable {
    /// Tissue class per voxel (`Tissue.rawValue`, 0–3), on `texture`'s grid.
    public var tissue: [UInt8]
    /// T1-weighted intensities normalised to 1 at the white-matter mean (texture source).
    public var texture: Volume
    /// Where the anatomy came from.
    public var source: String

    public static let colin27Path = "/usr/share/mricron/templates/ch2bet.nii.gz"

    /// Colin27 from `mricron-data`, resampled to `spacing` mm.
    public static func colin27(spacing: Double = 2, path: String = colin27Path) throws -> BrainAnatomy {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GantryError.fileNotFound(path: path + " (install Debian package mricron-data: `make deps` does, or use --anatomy ellipsoid)")
        }
        var t1 = try NIfTI.read(path)
        t1.header = nil
        if spacing != 1 { t1 = try t1.resampled(toSpacing: [spacing, spacing, spacing]) }
        // Crop to the brain's bounding box plus a margin, so the grid is no larger than needed.
        t1 = try cropToForeground(t1, margin: 4)
        let inside = t1.data.filter { $0 > 4 }
        guard inside.count > 1000 else { throw GantryError.invalidFile(path: path, problem: "no brain voxels found") }
        let mask = t1.data.map { $0 > 4 }
        let centres = try KMeans.centres(inside, classes: 3)
        let tissue = try KMeans.classify(t1.data, where: mask, classes: 3)
        let wm = centres[2]
        let texture = try t1.with(data: t1.data.map { $0 / Float(wm) })
        return BrainAnatomy(tissue: tissue, texture: texture, source: "Colin27 (mricron-data ch2bet) at \(spacing) mm")
    }

    /// An ellipsoid brain: GM shell around WM, lateral ventricles and a CSF rim (no package needed).
    public static func ellipsoid(shape: [Int] = [80, 96, 80], spacing: Double = 2) throws -> BrainAnatomy {
        let parts: [(Tissue, Ellipsoid)] = [
            (.csf, Ellipsoid(value: 0, axes: [0.86, 0.90, 0.86], centre: [0, 0, 0])),
            (.gm, Ellipsoid(value: 0, axes: [0.80, 0.85, 0.80], centre: [0, 0, 0])),
            (.wm, Ellipsoid(value: 0, axes: [0.66, 0.72, 0.64], centre: [0, 0.02, 0])),
            (.gm, Ellipsoid(value: 0, axes: [0.12, 0.10, 0.12], centre: [0.18, -0.05, -0.05])),
            (.gm, Ellipsoid(value: 0, axes: [0.12, 0.10, 0.12], centre: [-0.18, -0.05, -0.05])),
            (.csf, Ellipsoid(value: 0, axes: [0.08, 0.30, 0.12], centre: [0.09, 0.05, 0.1], angles: [8, 0, 0])),
            (.csf, Ellipsoid(value: 0, axes: [0.08, 0.30, 0.12], centre: [-0.09, 0.05, 0.1], angles: [-8, 0, 0])),
        ]
        let affine = Affine.scaling([spacing, spacing, spacing], origin: shape.map { -Double($0 - 1) / 2 * spacing })
        var tissue = [UInt8](repeating: 0, count: shape.reduce(1, *))
        for (t, e) in parts {
            let mask = try SheppLogan.volume(shape: shape, spacing: spacing, ellipsoids: [Ellipsoid(value: 1, axes: e.axes, centre: e.centre, angles: e.angles)])
            for i in 0..<tissue.count where mask.data[i] > 0.5 { tissue[i] = UInt8(t.rawValue) }
        }
        // A flat-ish texture with gentle gyral-like ripples so classes are not perfectly uniform.
        let means: [Float] = [0, 0.35, 0.75, 1.0]
        var tex = [Float](repeating: 0, count: tissue.count)
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            let idx = i + shape[0] * (j + shape[1] * k)
            let ripple = Float(0.05 * sin(Double(i) * 0.7) * cos(Double(j) * 0.55) * sin(Double(k) * 0.6 + 1))
            tex[idx] = tissue[idx] == 0 ? 0 : means[Int(tissue[idx])] * (1 + ripple)
        } } }
        return BrainAnatomy(tissue: tissue, texture: try Volume(shape: shape, affine: affine, data: tex), source: "ellipsoid brain")
    }

    static func cropToForeground(_ v: Volume, margin: Int) throws -> Volume {
        let s = v.spatialShape
        var lo = s, hi = [-1, -1, -1]
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] where v.data[i + s[0] * (j + s[1] * k)] > 4 {
            lo = [min(lo[0], i), min(lo[1], j), min(lo[2], k)]
            hi = [max(hi[0], i), max(hi[1], j), max(hi[2], k)]
        } } }
        guard hi[0] >= 0 else { return v }
        let start = (0..<3).map { lo[$0] - margin }
        let size = (0..<3).map { hi[$0] - lo[$0] + 1 + 2 * margin }
        return try v.extracting(start: start, size: size)
    }
}
