import GantryCore

/// The 3D modified Shepp–Logan phantom (Toft's higher-contrast intensities, 3D ellipsoids as in
/// Schabel's `phantom3d`), on an n³ grid spanning [-1, 1] along each axis.
public enum SheppLogan {
    /// The ten ellipsoids (value, semi-axes, centre, Euler angles φ θ ψ). `phantoms/shepp-logan.json` holds
    /// the same table; a test keeps the two equal.
    public static let modified: [Ellipsoid] = [
        Ellipsoid(value: 1.0, axes: [0.6900, 0.920, 0.810], centre: [0, 0, 0]),
        Ellipsoid(value: -0.8, axes: [0.6624, 0.874, 0.780], centre: [0, -0.0184, 0]),
        Ellipsoid(value: -0.2, axes: [0.1100, 0.310, 0.220], centre: [0.22, 0, 0], angles: [-18, 0, 10]),
        Ellipsoid(value: -0.2, axes: [0.1600, 0.410, 0.280], centre: [-0.22, 0, 0], angles: [18, 0, 10]),
        Ellipsoid(value: 0.1, axes: [0.2100, 0.250, 0.410], centre: [0, 0.35, -0.15]),
        Ellipsoid(value: 0.1, axes: [0.0460, 0.046, 0.050], centre: [0, 0.1, 0.25]),
        Ellipsoid(value: 0.1, axes: [0.0460, 0.046, 0.050], centre: [0, -0.1, 0.25]),
        Ellipsoid(value: 0.1, axes: [0.0460, 0.023, 0.050], centre: [-0.08, -0.605, 0]),
        Ellipsoid(value: 0.1, axes: [0.0230, 0.023, 0.020], centre: [0, -0.606, 0]),
        Ellipsoid(value: 0.1, axes: [0.0230, 0.046, 0.020], centre: [0.06, -0.605, 0]),
    ]

    /// Rasterises `ellipsoids` on a grid of `shape` voxels of `spacing` mm, centred on the world origin
    /// (RAS+ axes). Voxel centres are tested (no partial volume), as phantom3d.
    public static func volume(shape: [Int], spacing: Double = 1, ellipsoids: [Ellipsoid] = modified) throws -> Volume {
        guard shape.count == 3, shape.allSatisfy({ $0 >= 2 && $0 <= 2048 }) else {
            throw GantryError.invalidArgument("phantom shape \(shape) must be 3 sizes in 2…2048")
        }
        guard spacing > 0 else { throw GantryError.invalidArgument("spacing must be positive") }
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        let affine = Affine.scaling([spacing, spacing, spacing],
                                    origin: shape.map { -Double($0 - 1) / 2 * spacing })
        var data = [Float](repeating: 0, count: nx * ny * nz)
        let prepared = ellipsoids.map { e in (e, e.rotation, e.axes.map { 1 / ($0 * $0) }) }
        data.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            Parallel.forEach(nz) { k in
                let z = 2 * Double(k) / Double(nz - 1) - 1
                for j in 0..<ny {
                    let y = 2 * Double(j) / Double(ny - 1) - 1
                    for i in 0..<nx {
                        let x = 2 * Double(i) / Double(nx - 1) - 1
                        var v = 0.0
                        for (e, r, inv) in prepared {
                            let u = r[0] * x + r[1] * y + r[2] * z - e.centre[0]
                            let w = r[3] * x + r[4] * y + r[5] * z - e.centre[1]
                            let t = r[6] * x + r[7] * y + r[8] * z - e.centre[2]
                            if u * u * inv[0] + w * w * inv[1] + t * t * inv[2] <= 1 { v += e.value }
                        }
                        // (rounded to 1e-6 so that e.g. 1 − 0.8 − 0.2 is exactly 0)
                        p[i + nx * (j + ny * k)] = Float((v * 1e6).rounded() / 1e6)
                    }
                }
            }
        }
        return try Volume(shape: shape, affine: affine, data: data)
    }
}
