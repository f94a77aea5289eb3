import Foundation

extension Volume {
    /// Separable Gaussian smoothing of every frame, `sigma` in mm per spatial axis (converted with
    /// the voxel size); edges are handled by renormalising the truncated kernel (no darkening).
    public func gaussianSmoothed(sigmaMM sigma: [Double]) throws -> Volume {
        guard sigma.count == 3, sigma.allSatisfy({ $0 >= 0 }) else {
            throw GantryError.invalidArgument("sigma \(sigma) must have 3 non-negative values (mm)")
        }
        var out = self
        let sp = spacing
        let s = spatialShape
        let strides = [1, s[0], s[0] * s[1]]
        for axis in 0..<3 where sigma[axis] > 0 {
            let sv = sigma[axis] / sp[axis]
            let radius = max(1, Int((3 * sv).rounded(.up)))
            var kernel = [Float]()
            for d in -radius...radius {
                let x = Double(d)
                kernel.append(Float(exp(-x * x / (2 * sv * sv))))
            }
            let n = s[axis], inner = strides[axis], outer = count / (n * inner), r = radius
            // Edge renormalisation: output i is divided by the sum of the kernel taps inside the line.
            let norm = (0..<n).map { i in 1 / (max(0, i - r)...min(n - 1, i + r)).reduce(Float(0)) { $0 + kernel[$1 - i + r] } }
            let src = out.data
            // Data as [outer][n][inner]; every pass below is a contiguous, vectorisable loop.
            out.data = [Float](repeating: 0, count: count)
            src.withUnsafeBufferPointer { sb in out.data.withUnsafeMutableBufferPointer { ob in
                kernel.withUnsafeBufferPointer { kb in norm.withUnsafeBufferPointer { nb in
                    let (sp, op, kp, np) = (sb.baseAddress!, ob.baseAddress!, kb.baseAddress!, nb.baseAddress!)
                    if inner == 1 {
                        // Lines along x are contiguous: one shifted pass per tap over each line.
                        Parallel.forEach(outer, work: count * (2 * r + 1)) { o in
                            let (x, y) = (sp + o * n, op + o * n)
                            // Taps farther than the line is long touch nothing (a kernel wider than a
                            // small image).
                            for t in -r...r where abs(t) < n {
                                let c = kp[t + r]
                                for i in max(0, -t)..<min(n, n - t) { y[i] += c * x[i + t] }
                            }
                            for i in 0..<n { y[i] *= np[i] }
                        }
                    } else {
                        // Other axes: each output row of `inner` values is a weighted sum of input rows.
                        Parallel.forEach(outer * n, work: count * (2 * r + 1)) { job in
                            let (o, i) = (job / n, job % n), y = op + job * inner
                            for j in max(0, i - r)...min(n - 1, i + r) {
                                let c = kp[j - i + r] * np[i], x = sp + (o * n + j) * inner
                                for v in 0..<inner { y[v] += c * x[v] }
                            }
                        }
                    }
                } }
            } }
        }
        return out
    }
}
