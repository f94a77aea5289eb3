/// A 4×4 homogeneous transform in row-major order, normally voxel (i, j, k) → world (x, y, z) in
/// millimetres in RAS+ space (NIfTI and nibabel convention): +x points to the subject's Right, +y
/// Anterior, +z Superior. The last row is always (0, 0, 0, 1). Doubles, because sform/qform round-trips
/// through Float32 headers must stay exact and composing transforms must not drift.
public struct Affine: Equatable, Sendable, CustomStringConvertible {
    /// Row-major 4×4 entries.
    public var m: [Double]

    public init(rows: [[Double]]) {
        precondition(rows.count == 4 && rows.allSatisfy { $0.count == 4 }, "Affine needs 4×4 rows")
        m = rows.flatMap { $0 }
    }

    public init(rowMajor: [Double]) {
        precondition(rowMajor.count == 16, "Affine needs 16 entries")
        m = rowMajor
    }

    public static let identity = Affine(rowMajor: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])

    /// Diagonal scaling by `spacing` (mm per voxel) with translation `origin` (mm).
    public static func scaling(_ spacing: [Double], origin: [Double] = [0, 0, 0]) -> Affine {
        let s = spacing + Array(repeating: 1, count: max(0, 3 - spacing.count))
        let o = origin + Array(repeating: 0, count: max(0, 3 - origin.count))
        return Affine(rowMajor: [s[0], 0, 0, o[0], 0, s[1], 0, o[1], 0, 0, s[2], o[2], 0, 0, 0, 1])
    }

    public subscript(r: Int, c: Int) -> Double {
        get { m[r * 4 + c] }
        set { m[r * 4 + c] = newValue }
    }

    /// Matrix product `self · other` (apply `other` first).
    public static func * (a: Affine, b: Affine) -> Affine {
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<4 {
            for c in 0..<4 {
                var s = 0.0
                for k in 0..<4 { s += a.m[r * 4 + k] * b.m[k * 4 + c] }
                out[r * 4 + c] = s
            }
        }
        return Affine(rowMajor: out)
    }

    /// Maps a point (voxel or world coordinates) through the transform.
    public func apply(_ p: (Double, Double, Double)) -> (Double, Double, Double) {
        (m[0] * p.0 + m[1] * p.1 + m[2] * p.2 + m[3],
         m[4] * p.0 + m[5] * p.1 + m[6] * p.2 + m[7],
         m[8] * p.0 + m[9] * p.1 + m[10] * p.2 + m[11])
    }

    /// The inverse, or `nil` when the 3×3 part is singular.
    public var inverse: Affine? {
        // Gauss–Jordan on the full 4×4 with partial pivoting (robust for any invertible matrix).
        var a = m
        var inv = Affine.identity.m
        for col in 0..<4 {
            var pivot = col
            for r in col..<4 where abs(a[r * 4 + col]) > abs(a[pivot * 4 + col]) { pivot = r }
            if abs(a[pivot * 4 + col]) < 1e-300 { return nil }
            if pivot != col {
                for c in 0..<4 {
                    a.swapAt(col * 4 + c, pivot * 4 + c)
                    inv.swapAt(col * 4 + c, pivot * 4 + c)
                }
            }
            let d = a[col * 4 + col]
            for c in 0..<4 { a[col * 4 + c] /= d; inv[col * 4 + c] /= d }
            for r in 0..<4 where r != col {
                let f = a[r * 4 + col]
                if f == 0 { continue }
                for c in 0..<4 {
                    a[r * 4 + c] -= f * a[col * 4 + c]
                    inv[r * 4 + c] -= f * inv[col * 4 + c]
                }
            }
        }
        return Affine(rowMajor: inv)
    }

    /// Length of each of the first three columns: the voxel size in mm along each voxel axis.
    public var columnNorms: [Double] {
        (0..<3).map { c in (0..<3).reduce(0.0) { $0 + m[$1 * 4 + c] * m[$1 * 4 + c] }.squareRoot() }
    }

    /// Largest absolute difference between entries.
    public func maxDifference(_ o: Affine) -> Double {
        zip(m, o.m).map { abs($0 - $1) }.max() ?? 0
    }

    public var description: String {
        (0..<4).map { r in
            (0..<4).map { c in
                let v = self[r, c]
                return String(format: "%10.4f", v == 0 ? 0 : v)
            }.joined(separator: " ")
        }.joined(separator: "\n")
    }
}

import Foundation
