/// How to read a value between voxel centres.
public enum Interpolation: String, Sendable, CaseIterable {
    /// Trilinear: for intensity images.
    case linear
    /// Nearest neighbour: for label maps (keeps label values).
    case nearest
    /// Cubic B-spline (`CubicBSpline`): for images where trilinear blur matters; may overshoot at edges.
    case bspline
}

extension Volume {
    /// This volume sampled onto another grid (`shape`, `affine`), matching points in world space:
    /// target voxel → world (target affine) → source voxel (inverse source affine). Points outside the
    /// source get `fill`. 4D volumes are resampled frame by frame.
    public func resampled(toShape target: [Int], affine targetAffine: Affine, interpolation: Interpolation = .linear, fill: Float = 0) throws -> Volume {
        guard target.count == 3, target.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("resample target shape \(target) must have 3 positive sizes")
        }
        guard let inv = affine.inverse else {
            throw GantryError.invalidArgument("source affine is singular")
        }
        let m = inv * targetAffine
        let src = spatialShape
        let (nx, ny, nz) = (target[0], target[1], target[2])
        let outFrame = try Volume.count(of: target)
        var out = [Float](repeating: fill, count: outFrame * frames)
        let inFrame = spatialCount
        let sx = src[0], sy = src[1], sz = src[2]
        let nframes = frames
        let splines = interpolation == .bspline ? (0..<nframes).map { f in CubicBSpline(Array(data[(f * inFrame)..<((f + 1) * inFrame)]), shape: src) } : []
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                let sp = s.baseAddress!, op = o.baseAddress!
                Parallel.forEach(nz * nframes) { kz in
                    let k = kz % nz, f = kz / nz
                    let sb = sp + f * inFrame
                    for j in 0..<ny {
                        let row = op + f * outFrame + nx * (j + ny * k)
                        let bx = m[0, 1] * Double(j) + m[0, 2] * Double(k) + m[0, 3]
                        let by = m[1, 1] * Double(j) + m[1, 2] * Double(k) + m[1, 3]
                        let bz = m[2, 1] * Double(j) + m[2, 2] * Double(k) + m[2, 3]
                        for i in 0..<nx {
                            let x = bx + m[0, 0] * Double(i), y = by + m[1, 0] * Double(i), z = bz + m[2, 0] * Double(i)
                            switch interpolation {
                            case .nearest:
                                let xi = Int((x + 0.5).rounded(.down)), yi = Int((y + 0.5).rounded(.down)), zi = Int((z + 0.5).rounded(.down))
                                if xi >= 0, yi >= 0, zi >= 0, xi < sx, yi < sy, zi < sz {
                                    row[i] = sb[xi + sx * (yi + sy * zi)]
                                }
                            case .bspline:
                                if x < -0.5 || y < -0.5 || z < -0.5 || x > Double(sx) - 0.5 || y > Double(sy) - 0.5 || z > Double(sz) - 0.5 { continue }
                                row[i] = splines[f].value(at: (x, y, z))
                            case .linear:
                                // Inside the grid (with half a voxel of slack clamped to the edge).
                                if x < -0.5 || y < -0.5 || z < -0.5 || x > Double(sx) - 0.5 || y > Double(sy) - 0.5 || z > Double(sz) - 0.5 { continue }
                                let cx = Swift.min(Swift.max(x, 0), Double(sx - 1))
                                let cy = Swift.min(Swift.max(y, 0), Double(sy - 1))
                                let cz = Swift.min(Swift.max(z, 0), Double(sz - 1))
                                let x0 = Swift.min(Int(cx), sx - 1), y0 = Swift.min(Int(cy), sy - 1), z0 = Swift.min(Int(cz), sz - 1)
                                let x1 = Swift.min(x0 + 1, sx - 1), y1 = Swift.min(y0 + 1, sy - 1), z1 = Swift.min(z0 + 1, sz - 1)
                                let fx = Float(cx - Double(x0)), fy = Float(cy - Double(y0)), fz = Float(cz - Double(z0))
                                @inline(__always) func v(_ a: Int, _ b: Int, _ c: Int) -> Float { sb[a + sx * (b + sy * c)] }
                                let c00 = v(x0, y0, z0) + (v(x1, y0, z0) - v(x0, y0, z0)) * fx
                                let c10 = v(x0, y1, z0) + (v(x1, y1, z0) - v(x0, y1, z0)) * fx
                                let c01 = v(x0, y0, z1) + (v(x1, y0, z1) - v(x0, y0, z1)) * fx
                                let c11 = v(x0, y1, z1) + (v(x1, y1, z1) - v(x0, y1, z1)) * fx
                                let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
                                row[i] = c0 + (c1 - c0) * fz
                            }
                        }
                    }
                }
            }
        }
        return try Volume(shape: target + Array(shape.dropFirst(3)), affine: targetAffine, data: out,
                          extraSpacing: extraSpacing, header: header)
    }

    /// Resampled to isotropic-or-not voxel size `spacing` (mm), covering the same field of view,
    /// axes kept in their current directions.
    public func resampled(toSpacing newSpacing: [Double], interpolation: Interpolation = .linear) throws -> Volume {
        guard newSpacing.count == 3, newSpacing.allSatisfy({ $0 > 0 }) else {
            throw GantryError.invalidArgument("spacing \(newSpacing) must have 3 positive values")
        }
        let old = spacing, n = spatialShape
        var a = affine
        var target = [Int]()
        for c in 0..<3 {
            let scale = newSpacing[c] / old[c]
            for r in 0..<3 { a[r, c] = affine[r, c] * scale }
            target.append(max(1, Int((Double(n[c]) * old[c] / newSpacing[c]).rounded())))
        }
        // Keep the field-of-view corner (-0.5 voxel) fixed: centre of new voxel 0 sits half a new
        // voxel from the old edge.
        for r in 0..<3 {
            var shift = 0.0
            for c in 0..<3 { shift += affine[r, c] * (-0.5) - a[r, c] * (-0.5) }
            a[r, 3] = affine[r, 3] + shift
        }
        return try resampled(toShape: target, affine: a, interpolation: interpolation)
    }
}
