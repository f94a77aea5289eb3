import GantryCore

/// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher's separable lower-envelope
/// algorithm) on a 3D grid with per-axis voxel sizes in mm: for every voxel, the distance in mm to the
/// nearest voxel where `feature` is true (infinity when there is none).
public enum DistanceTransform {
    public static func euclidean(_ feature: [Bool], shape: [Int], spacing: [Double]) -> [Double] {
        let n = shape[0] * shape[1] * shape[2]
        var d = feature.map { $0 ? 0.0 : Double.infinity }
        let strides = [1, shape[0], shape[0] * shape[1]]
        for axis in 0..<3 {
            let len = shape[axis], stride = strides[axis], w2 = spacing[axis] * spacing[axis]
            let lines = n / len
            d.withUnsafeMutableBufferPointer { buf in
                let p = buf.baseAddress!
                Parallel.forEach(lines) { line in
                    let inner = line % stride, outer = line / stride
                    let base = inner + outer * stride * len
                    var f = [Double](repeating: 0, count: len)
                    for i in 0..<len { f[i] = p[base + i * stride] }
                    let out = lowerEnvelope(f, w2: w2)
                    for i in 0..<len { p[base + i * stride] = out[i] }
                }
            }
        }
        return d.map { $0.squareRoot() }
    }

    /// 1-D squared distance transform of sampled function f with squared step w2:
    /// out[q] = min_p (w2·(q − p)² + f[p]).
    static func lowerEnvelope(_ f: [Double], w2: Double) -> [Double] {
        let n = f.count
        var out = [Double](repeating: .infinity, count: n)
        var v = [Int](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: n + 1)
        var k = -1
        for q in 0..<n where f[q].isFinite {
            if k < 0 {
                k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
                continue
            }
            var s = 0.0
            while true {
                let p = v[k]
                s = ((f[q] + w2 * Double(q * q)) - (f[p] + w2 * Double(p * p))) / (2 * w2 * Double(q - p))
                if s <= z[k] && k > 0 { k -= 1 } else { break }
            }
            if s <= z[k] {  // k == 0 and the new parabola dominates everywhere
                v[0] = q; z[0] = -.infinity; z[1] = .infinity
            } else {
                k += 1; v[k] = q; z[k] = s; z[k + 1] = .infinity
            }
        }
        if k < 0 { return out }
        var j = 0
        for q in 0..<n {
            while z[j + 1] < Double(q) { j += 1 }
            let p = v[j]
            out[q] = w2 * Double((q - p) * (q - p)) + f[p]
        }
        return out
    }
}
