import GantryCore

/// Sampling a moving image on a fixed grid through a transform.
public enum Warp {
    /// Moving intensities at every voxel of the fixed grid (`shape`, `affine`), pulled through the
    /// world-space `transform` (fixed world → moving world); `valid` marks samples inside the moving grid.
    public static func affine(_ moving: Volume, shape: [Int], affine fixedAffine: Affine, transform: Affine, interpolation: Interpolation = .linear) throws -> (data: [Float], valid: [Bool]) {
        guard let inv = moving.affine.inverse else { throw GantryError.invalidArgument("moving image affine is singular") }
        let m = inv * transform * fixedAffine
        if interpolation == .bspline { return sample(moving, shape: shape, interpolation: .bspline) { m.apply((Double($0), Double($1), Double($2))) } }
        let r = sampleAffine(moving, shape: shape, voxelMap: m, interpolation: interpolation)
        return (r.data, r.valid)
    }

    /// The hot path of affine registration: moving voxel = m·(i, j, k), stepped incrementally along
    /// x, with the trilinear read inlined (no per-voxel closure or matrix product). `extra` holds
    /// further images on the moving grid one after another (the optimiser's image gradient); they are
    /// read through the same corners and returned the same way.
    static func sampleAffine(_ moving: Volume, shape: [Int], voxelMap m: Affine, interpolation: Interpolation,
                             extra: [Float] = []) -> (data: [Float], valid: [Bool], extra: [Float]) {
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        let s = moving.spatialShape
        let (sx, sy, sz) = (s[0], s[1], s[2])
        let n = nx * ny * nz
        var out = [Float](repeating: 0, count: n)
        var valid = [Bool](repeating: false, count: n)
        let count = moving.count, extras = extra.count / max(count, 1)
        var outputs = [Float](repeating: 0, count: n * extras)
        let (m00, m10, m20) = (m[0, 0], m[1, 0], m[2, 0])
        let (hx, hy, hz) = (Double(sx) - 0.5, Double(sy) - 0.5, Double(sz) - 0.5)
        moving.data.withUnsafeBufferPointer { src in extra.withUnsafeBufferPointer { xb in
        out.withUnsafeMutableBufferPointer { ob in outputs.withUnsafeMutableBufferPointer { eb in
            valid.withUnsafeMutableBufferPointer { vb in
                    let (b, xp, op, ep, vp) = (src.baseAddress!, xb.baseAddress, ob.baseAddress!, eb.baseAddress, vb.baseAddress!)
                    Parallel.forEach(nz) { k in
                        for j in 0..<ny {
                            var x = m[0, 1] * Double(j) + m[0, 2] * Double(k) + m[0, 3]
                            var y = m[1, 1] * Double(j) + m[1, 2] * Double(k) + m[1, 3]
                            var z = m[2, 1] * Double(j) + m[2, 2] * Double(k) + m[2, 3]
                            let row = nx * (j + ny * k)
                            for i in 0..<nx {
                                defer { x += m00; y += m10; z += m20 }
                                guard x >= -0.5, y >= -0.5, z >= -0.5, x <= hx, y <= hy, z <= hz else { continue }
                                if interpolation == .nearest {
                                    let (a, bb, c) = (min(sx - 1, max(0, Int(x.rounded()))), min(sy - 1, max(0, Int(y.rounded()))), min(sz - 1, max(0, Int(z.rounded()))))
                                    op[row + i] = b[a + sx * (bb + sy * c)]
                                    for e in 0..<extras { ep![e * n + row + i] = xp![e * count + a + sx * (bb + sy * c)] }
                                    vp[row + i] = true
                                    continue
                                }
                                let q = Corners(sx, sy, sz, Float(x), Float(y), Float(z))
                                op[row + i] = q.read(b)
                                for e in 0..<extras { ep![e * n + row + i] = q.read(xp! + e * count) }
                                vp[row + i] = true
                            }
                        }
                    }
            }
        } } } }
        return (out, valid, outputs)
    }

    /// Moving intensities where `position(i, j, k)` gives the moving voxel coordinates of fixed voxel (i, j, k).
    public static func sample(_ moving: Volume, shape: [Int], interpolation: Interpolation = .linear, position: (Int, Int, Int) -> (Double, Double, Double)) -> (data: [Float], valid: [Bool]) {
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        var out = [Float](repeating: 0, count: nx * ny * nz)
        var valid = [Bool](repeating: false, count: nx * ny * nz)
        let s = moving.spatialShape
        let spline = interpolation == .bspline ? CubicBSpline(moving.data, shape: s) : nil
        withoutActuallyEscaping(position) { position in
            moving.data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { ob in
                    valid.withUnsafeMutableBufferPointer { vb in
                        let (sp, op, vp) = (src.baseAddress!, ob.baseAddress!, vb.baseAddress!)
                        Parallel.forEach(nz) { k in
                            for j in 0..<ny { for i in 0..<nx {
                                let p = position(i, j, k)
                                let o = i + nx * (j + ny * k)
                                if let spline {
                                    if inside(s, p) { op[o] = spline.value(at: p); vp[o] = true }
                                } else if let v = value(sp, s, p, interpolation) { op[o] = v; vp[o] = true }
                            } }
                        }
                    }
                }
            }
        }
        return (out, valid)
    }

    /// Whether a point in voxel coordinates lies on the grid (within half a voxel of it).
    @inline(__always)
    static func inside(_ s: [Int], _ p: (Double, Double, Double)) -> Bool {
        p.0 >= -0.5 && p.1 >= -0.5 && p.2 >= -0.5 && p.0 <= Double(s[0]) - 0.5 && p.1 <= Double(s[1]) - 0.5 && p.2 <= Double(s[2]) - 0.5
    }

    /// The trilinear footprint of a point on the grid (see `inside`): the point clamped into the
    /// grid, its low and high corner coordinates, its fractions along each axis, and the offsets of
    /// the low corner and of the next voxel along each axis (0 on a one-voxel axis). Built once per
    /// point and read from any number of images on the same grid (a field's three components, an
    /// image and its gradient).
    struct Corners {
        let x0: Int, y0: Int, z0: Int, x1: Int, y1: Int, z1: Int
        let fx: Float, fy: Float, fz: Float
        let offset: Int, dx: Int, dy: Int, dz: Int

        @inline(__always)
        init(_ s: [Int], _ p: (Double, Double, Double)) {
            self.init(s[0], s[1], s[2], Float(p.0), Float(p.1), Float(p.2))
        }

        @inline(__always)
        init(_ sx: Int, _ sy: Int, _ sz: Int, _ x: Float, _ y: Float, _ z: Float) {
            let cx = min(max(x, 0), Float(sx - 1)), cy = min(max(y, 0), Float(sy - 1)), cz = min(max(z, 0), Float(sz - 1))
            x0 = min(Int(cx), max(sx - 2, 0)); y0 = min(Int(cy), max(sy - 2, 0)); z0 = min(Int(cz), max(sz - 2, 0))
            x1 = min(x0 + 1, sx - 1); y1 = min(y0 + 1, sy - 1); z1 = min(z0 + 1, sz - 1)
            fx = cx - Float(x0); fy = cy - Float(y0); fz = cz - Float(z0)
            offset = x0 + sx * (y0 + sy * z0)
            dx = x1 - x0; dy = (y1 - y0) * sx; dz = (z1 - z0) * sx * sy
        }

        /// The trilinear value of image `b` (on the footprint's grid) at the point.
        @inline(__always)
        func read(_ b: UnsafePointer<Float>) -> Float {
            let o = offset
            let c00 = b[o] + (b[o + dx] - b[o]) * fx
            let c10 = b[o + dy] + (b[o + dy + dx] - b[o + dy]) * fx
            let c01 = b[o + dz] + (b[o + dz + dx] - b[o + dz]) * fx
            let c11 = b[o + dz + dy] + (b[o + dz + dy + dx] - b[o + dz + dy]) * fx
            let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
            return c0 + (c1 - c0) * fz
        }
    }

    /// Nearest or trilinear (B-spline needs its coefficients first: `sample` builds a `CubicBSpline`).
    @inline(__always)
    static func value(_ b: UnsafePointer<Float>, _ s: [Int], _ p: (Double, Double, Double), _ interpolation: Interpolation) -> Float? {
        guard inside(s, p) else { return nil }
        let (x, y, z) = p
        if interpolation == .nearest {
            let (i, j, k) = (min(s[0] - 1, max(0, Int(x.rounded()))), min(s[1] - 1, max(0, Int(y.rounded()))), min(s[2] - 1, max(0, Int(z.rounded()))))
            return b[i + s[0] * (j + s[1] * k)]
        }
        return Corners(s, p).read(b)
    }

    /// Per-label linear interpolation + argmax: smoother label warping than nearest neighbour.
    public static func labels(_ moving: Volume, labels: [Int], shape: [Int], position: (Int, Int, Int) -> (Double, Double, Double)) throws -> [Float] {
        // One pass: a label's linearly interpolated indicator at a point is the sum of the trilinear
        // weights of the corners carrying it, so the ≤ 8 corners decide; a label is kept where its
        // indicator exceeds ½ (at most one can), else background. (Per-label resampling would
        // evaluate every position — and its displacement field — once per label.)
        let wanted = Set(labels), s = moving.spatialShape
        let ids = moving.data.map { v -> Int32 in let l = Int(v.rounded()); return wanted.contains(l) ? Int32(l) : 0 }
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        var out = [Float](repeating: 0, count: nx * ny * nz)
        withoutActuallyEscaping(position) { position in
            ids.withUnsafeBufferPointer { ib in out.withUnsafeMutableBufferPointer { ob in
                let (lp, op) = (ib.baseAddress!, ob.baseAddress!)
                Parallel.forEach(nz) { k in
                    for j in 0..<ny { for i in 0..<nx {
                        let p = position(i, j, k)
                        guard inside(s, p) else { continue }
                        let q = Corners(s, p)
                        var seen: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
                        var weight: (Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0)
                        var count = 0
                        withUnsafeMutableBytes(of: &seen) { sb in withUnsafeMutableBytes(of: &weight) { wb in
                            let (sl, wl) = (sb.bindMemory(to: Int32.self), wb.bindMemory(to: Float.self))
                            // Corners in x-fastest order (bit 0: x, bit 1: y, bit 2: z).
                            for corner in 0..<8 {
                                let (hx, hy, hz) = (corner & 1 != 0, corner & 2 != 0, corner & 4 != 0)
                                let c = (hx ? q.x1 : q.x0) + s[0] * ((hy ? q.y1 : q.y0) + s[1] * (hz ? q.z1 : q.z0))
                                let cw = (hx ? q.fx : 1 - q.fx) * (hy ? q.fy : 1 - q.fy) * (hz ? q.fz : 1 - q.fz)
                                let l = lp[c]
                                guard l != 0 else { continue }
                                if let e = (0..<count).first(where: { sl[$0] == l }) { wl[e] += cw } else { sl[count] = l; wl[count] = cw; count += 1 }
                            }
                            if let e = (0..<count).first(where: { wl[$0] > 0.5 }) { op[i + nx * (j + ny * k)] = Float(sl[e]) }
                        } }
                    } }
                }
            } }
        }
        return out
    }
}
