/// Axis codes of an affine: for each voxel axis, the world direction in which its index increases
/// (R/L, A/P, S/I), as nibabel's `aff2axcodes`. Oblique axes get the closest world axis; each
/// world axis is used once.
public enum Orientation {
    /// For each of the three voxel axes: the world axis (0 = x, 1 = y, 2 = z) it runs along and
    /// whether it increases in the positive (RAS) direction.
    public static func axes(of affine: Affine) -> [(world: Int, positive: Bool)] {
        // Greedy assignment, strongest (normalised) component first, each world axis once.
        var candidates: [(weight: Double, voxel: Int, world: Int)] = []
        let norms = affine.columnNorms
        for v in 0..<3 {
            for w in 0..<3 {
                let n = norms[v] > 0 ? norms[v] : 1
                candidates.append((abs(affine[w, v]) / n, v, w))
            }
        }
        candidates.sort { $0.weight != $1.weight ? $0.weight > $1.weight : ($0.voxel, $0.world) < ($1.voxel, $1.world) }
        var out = [(world: Int, positive: Bool)](repeating: (0, true), count: 3)
        var usedV = Set<Int>(), usedW = Set<Int>()
        for c in candidates where !usedV.contains(c.voxel) && !usedW.contains(c.world) {
            out[c.voxel] = (c.world, affine[c.world, c.voxel] >= 0)
            usedV.insert(c.voxel); usedW.insert(c.world)
        }
        return out
    }

    /// Codes such as ["R", "A", "S"] or ["L", "P", "S"].
    public static func axisCodes(of affine: Affine) -> [String] {
        let pos = ["R", "A", "S"], neg = ["L", "P", "I"]
        return axes(of: affine).map { $0.positive ? pos[$0.world] : neg[$0.world] }
    }
}

extension Volume {
    /// The same voxels reordered so voxel axes run R, A, S (no resampling: axes are permuted and
    /// flipped, the affine updated so every voxel keeps its world position).
    public func reorientedToRAS() throws -> Volume {
        let ax = Orientation.axes(of: affine)
        // New axis w is old axis `perm[w]`, flipped when that old axis runs negative.
        var perm = [0, 0, 0]
        var flip = [false, false, false]
        for v in 0..<3 { perm[ax[v].world] = v; flip[ax[v].world] = !ax[v].positive }
        if perm == [0, 1, 2] && flip == [false, false, false] { return self }
        let old = spatialShape
        let newShape3 = perm.map { old[$0] }
        // T maps new voxel → old voxel: old[perm[w]] = flip ? (n-1 - new[w]) : new[w].
        var t = Affine(rowMajor: [Double](repeating: 0, count: 16))
        t[3, 3] = 1
        for w in 0..<3 {
            let v = perm[w]
            if flip[w] { t[v, w] = -1; t[v, 3] = Double(old[v] - 1) } else { t[v, w] = 1 }
        }
        var out = try Volume(shape: newShape3 + Array(shape.dropFirst(3)), affine: affine * t,
                             data: data, extraSpacing: extraSpacing, header: header)
        let oldStride = [1, old[0], old[0] * old[1]]
        let n0 = newShape3[0], n1 = newShape3[1], n2 = newShape3[2]
        let frameSize = spatialCount
        data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for f in 0..<frames {
                    let base = f * frameSize
                    for k in 0..<n2 {
                        for j in 0..<n1 {
                            for i in 0..<n0 {
                                let nv = [i, j, k]
                                var o = base
                                for w in 0..<3 {
                                    let c = flip[w] ? old[perm[w]] - 1 - nv[w] : nv[w]
                                    o += c * oldStride[perm[w]]
                                }
                                dst[base + i + n0 * (j + n1 * k)] = src[o]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
