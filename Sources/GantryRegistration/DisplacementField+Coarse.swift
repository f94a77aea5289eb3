import Foundation
import GantryCore

/// A field's half-resolution twin, for fields too smooth to need full resolution (the demons'
/// velocity at its finest level, smoothed by a Gaussian of 4 voxels every iteration). Coarse voxel c
/// covers fine voxels 2c and 2c + 1 on every axis (centre 2c + ½); both directions are separable
/// two-tap passes, so each costs about one memory sweep of the field instead of a trilinear gather
/// per voxel.
extension DisplacementField {
    /// Each coarse voxel the mean of its 2×2×2 fine voxels (fewer on the far faces of odd sizes).
    /// Values stay in mm; the grid's affine maps coarse voxel c to the fine voxel centre 2c + ½.
    public func halved() -> DisplacementField {
        let coarse = shape.map { ($0 + 1) / 2 }
        let shift = Affine(rowMajor: [2, 0, 0, 0.5, 0, 2, 0, 0.5, 0, 0, 2, 0.5, 0, 0, 0, 1])
        return DisplacementField(shape: coarse, affine: affine * shift, u: u.map { component in
            Self.twoTap(component, shape: shape, target: coarse) { i, n in (2 * i, min(2 * i + 1, n - 1), 0.5, 0.5) }
        })
    }

    /// The field on the fine grid it was `halved()` from (`shape`, `affine` of that grid): linear
    /// interpolation along each axis — fine voxel 2c sits a quarter of a coarse voxel before c, 2c + 1
    /// a quarter after — clamped at the faces.
    public func doubled(toShape fine: [Int], affine fineAffine: Affine) -> DisplacementField {
        DisplacementField(shape: fine, affine: fineAffine, u: u.map { component in
            Self.twoTap(component, shape: shape, target: fine) { i, n in
                let c = i / 2, other = i % 2 == 0 ? max(c - 1, 0) : min(c + 1, n - 1)
                return (min(c, n - 1), other, 0.75, 0.25)
            }
        })
    }

    /// One separable pass per axis: output index i along the axis is w₀·x[a] + w₁·x[b] with
    /// (a, b, w₀, w₁) = `taps(i, n)` for an input axis of length n.
    static func twoTap(_ data: [Float], shape: [Int], target: [Int],
                       taps: (Int, Int) -> (Int, Int, Float, Float)) -> [Float] {
        var cur = data, curShape = shape
        for axis in 0..<3 {
            let n = curShape[axis], m = target[axis]
            let inner = curShape[..<axis].reduce(1, *), outer = curShape[(axis + 1)...].reduce(1, *)
            let table = (0..<m).map { taps($0, n) }
            // every output value is written below (each line, each index): no zero fill
            var next = [Float](unsafeUninitializedCapacity: inner * m * outer) { _, k in k = inner * m * outer }
            cur.withUnsafeBufferPointer { sb in next.withUnsafeMutableBufferPointer { ob in table.withUnsafeBufferPointer { tb in
                let (src, dst, tp) = (sb.baseAddress!, ob.baseAddress!, tb.baseAddress!)
                if inner == 1 {
                    // x lines: a gather per output along the line; many lines per job.
                    let lines = outer, perJob = max(1, 4096 / max(m, 1))
                    Parallel.forEach((lines + perJob - 1) / perJob, work: m * lines * 2) { job in
                        for line in (job * perJob)..<min(lines, (job + 1) * perJob) {
                            let x = src + line * n, z = dst + line * m
                            for i in 0..<m { let (a, b, wa, wb) = tp[i]; z[i] = wa * x[a] + wb * x[b] }
                        }
                    }
                    return
                }
                Parallel.forEach(outer, work: inner * m * outer * 2) { o in
                    for i in 0..<m {
                        let (a, b, wa, wb) = tp[i]
                        let x = src + (o * n + a) * inner, y = src + (o * n + b) * inner, z = dst + (o * m + i) * inner
                        for v in 0..<inner { z[v] = wa * x[v] + wb * y[v] }
                    }
                }
            } } }
            cur = next
            curShape[axis] = m
        }
        return cur
    }
}
