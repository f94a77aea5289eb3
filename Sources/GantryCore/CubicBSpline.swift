import Foundation

/// Cubic B-spline interpolation of a 3D grid (Unser; Thévenaz, Blu & Unser 2000): the samples are
/// first turned into spline coefficients by the exact recursive prefilter (pole z = √3 − 2, one
/// causal and one anticausal pass per line and axis), so the spline passes through every sample;
/// a value is then the weighted sum of 4×4×4 coefficients. The grid is extended by mirroring about
/// its first and last samples, as scipy.ndimage does with `order=3, mode="mirror"` — the reference
/// the tests compare with. Smoother than trilinear (continuous second derivatives) and it does not
/// blur when an image is resampled, at the price of slight overshoot at sharp edges: for images,
/// never for label maps.
public struct CubicBSpline: Sendable {
    public let shape: [Int]
    public let coefficients: [Float]

    static let pole = 3.0.squareRoot() - 2

    /// Prefilters `data` (x fastest, `shape` [nx, ny, nz]).
    public init(_ data: [Float], shape: [Int]) {
        precondition(shape.count == 3 && data.count == shape.reduce(1, *), "CubicBSpline needs a 3D grid and matching data")
        self.shape = shape
        var c = data
        let strides = [1, shape[0], shape[0] * shape[1]]
        for axis in 0..<3 where shape[axis] > 1 {
            let n = shape[axis], st = strides[axis], lines = data.count / n
            c.withUnsafeMutableBufferPointer { cb in
                let p = cb.baseAddress!
                Parallel.forEach(lines, work: data.count * 4) { line in
                    // line → its first element: inner index below the axis, outer above it
                    let inner = line % st, outer = line / st
                    var x = [Double](repeating: 0, count: n)
                    let base = p + inner + outer * st * n
                    for i in 0..<n { x[i] = Double(base[i * st]) }
                    Self.prefilter(&x)
                    for i in 0..<n { base[i * st] = Float(x[i]) }
                }
            }
        }
        coefficients = c
    }

    /// In-place coefficients of one line with mirror boundaries (gain 6 = (1 − z)(1 − 1/z)).
    static func prefilter(_ x: inout [Double]) {
        let n = x.count, z = pole
        guard n > 1 else { return }
        for i in 0..<n { x[i] *= 6 }
        // causal initialisation: c⁺[0] = Σₖ z^k x̃[k] over the mirrored signal (period 2n − 2);
        // the tail is below double precision after `horizon` terms, else the exact closed form.
        let horizon = Int((log(1e-16) / log(abs(z))).rounded(.up))
        if horizon < n {
            var zk = z, sum = x[0]
            for k in 1..<horizon { sum += zk * x[k]; zk *= z }
            x[0] = sum
        } else {
            var zk = z
            let zn = pow(z, Double(n - 1))
            var z2n = zn * zn / z
            var sum = x[0] + zn * x[n - 1]
            for k in 1..<(n - 1) { sum += (zk + z2n) * x[k]; zk *= z; z2n /= z }
            x[0] = sum / (1 - zn * zn)
        }
        for k in 1..<n { x[k] += z * x[k - 1] }
        // anticausal initialisation for the mirror extension, then the backward pass
        x[n - 1] = (z / (z * z - 1)) * (x[n - 1] + z * x[n - 2])
        for k in stride(from: n - 2, through: 0, by: -1) { x[k] = z * (x[k + 1] - x[k]) }
    }

    /// Index of the mirrored extension (…, 2, 1, 0, 1, 2, …, n − 1, n − 2, …).
    @inline(__always)
    static func mirror(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * n - 2
        var k = abs(i) % period
        if k >= n { k = period - k }
        return k
    }

    /// The four weights of the cubic B-spline at fraction t ∈ [0, 1) for offsets −1, 0, 1, 2.
    @inline(__always)
    static func weights(_ t: Double) -> SIMD4<Double> {
        let t2 = t * t, t3 = t2 * t, s = 1 - t
        return SIMD4(s * s * s, 4 - 6 * t2 + 3 * t3, 1 + 3 * t + 3 * t2 - 3 * t3, t3) / 6
    }

    /// The spline at a point in voxel coordinates (any point: outside the grid it is the mirrored
    /// extension; callers decide what lies outside).
    @inline(__always)
    public func value(at p: (Double, Double, Double)) -> Float {
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        let fx = p.0.rounded(.down), fy = p.1.rounded(.down), fz = p.2.rounded(.down)
        let wx = Self.weights(p.0 - fx), wy = Self.weights(p.1 - fy), wz = Self.weights(p.2 - fz)
        let (x0, y0, z0) = (Int(fx) - 1, Int(fy) - 1, Int(fz) - 1)
        let ix = SIMD4<Int>(Self.mirror(x0, nx), Self.mirror(x0 + 1, nx), Self.mirror(x0 + 2, nx), Self.mirror(x0 + 3, nx))
        var sum = 0.0
        coefficients.withUnsafeBufferPointer { cb in
            let c = cb.baseAddress!
            for b in 0..<4 {
                let zo = Self.mirror(z0 + b, nz) * nx * ny
                var plane = 0.0
                for a in 0..<4 {
                    let row = c + zo + Self.mirror(y0 + a, ny) * nx
                    let line = SIMD4<Double>(Double(row[ix[0]]), Double(row[ix[1]]), Double(row[ix[2]]), Double(row[ix[3]]))
                    plane += wy[a] * (line * wx).sum()
                }
                sum += wz[b] * plane
            }
        }
        return Float(sum)
    }
}
