extension Volume {
    /// The box of `size` voxels starting at voxel `start` (may be negative or run past the edge: the
    /// outside is filled with `fill`). The affine is shifted so every voxel keeps its world position.
    /// Cropping and padding are both this operation.
    public func extracting(start: [Int], size: [Int], fill: Float = 0) throws -> Volume {
        guard start.count == 3, size.count == 3, size.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("crop/pad needs 3 start indices and 3 positive sizes, got \(start) and \(size)")
        }
        let old = spatialShape
        var a = affine
        for r in 0..<3 {
            a[r, 3] += a[r, 0] * Double(start[0]) + a[r, 1] * Double(start[1]) + a[r, 2] * Double(start[2])
        }
        let newCount = try Volume.count(of: size) * frames
        var out = [Float](repeating: fill, count: newCount)
        let nf = frames, oldFrame = spatialCount, newFrame = size[0] * size[1] * size[2]
        let i0 = max(0, -start[0]), i1 = min(size[0], old[0] - start[0])
        if i1 > i0 {
            data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for f in 0..<nf {
                        for k in 0..<size[2] {
                            let ok = k + start[2]
                            if ok < 0 || ok >= old[2] { continue }
                            for j in 0..<size[1] {
                                let oj = j + start[1]
                                if oj < 0 || oj >= old[1] { continue }
                                let s = f * oldFrame + (i0 + start[0]) + old[0] * (oj + old[1] * ok)
                                let d = f * newFrame + i0 + size[0] * (j + size[1] * k)
                                for i in 0..<(i1 - i0) { dst[d + i] = src[s + i] }
                            }
                        }
                    }
                }
            }
        }
        return try Volume(shape: size + Array(shape.dropFirst(3)), affine: a, data: out,
                          extraSpacing: extraSpacing, header: header)
    }

    /// Crops to the half-open voxel ranges `lower..<upper` on each spatial axis.
    public func cropped(lower: [Int], upper: [Int]) throws -> Volume {
        guard lower.count == 3, upper.count == 3 else { throw GantryError.invalidArgument("crop needs 3 lower and 3 upper indices") }
        for a in 0..<3 where !(0 <= lower[a] && lower[a] < upper[a] && upper[a] <= spatialShape[a]) {
            throw GantryError.invalidArgument("crop range \(lower[a])..<\(upper[a]) is outside axis \(a) of size \(spatialShape[a])")
        }
        return try extracting(start: lower, size: (0..<3).map { upper[$0] - lower[$0] })
    }

    /// Pads each spatial axis with `before` and `after` voxels of `value`.
    public func padded(before: [Int], after: [Int], value: Float = 0) throws -> Volume {
        guard before.count == 3, after.count == 3, (before + after).allSatisfy({ $0 >= 0 }) else {
            throw GantryError.invalidArgument("pad needs 3 non-negative before and after counts")
        }
        return try extracting(start: before.map { -$0 }, size: (0..<3).map { spatialShape[$0] + before[$0] + after[$0] }, fill: value)
    }
}
