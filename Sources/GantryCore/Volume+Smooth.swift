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
            let n = s[axis], stride = strides[axis]
            let lines = count / n
            let src = out.data
            // Each line along `axis` is independent: lines are indexed by the other coordinates.
            src.withUnsafeBufferPointer { sb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    let sp = sb.baseAddress!, op = ob.baseAddress!
                    Parallel.forEach(lines) { line in
                        // base index of the line: remove the axis coordinate from the linear index
                        let inner = line % stride, outer = line / stride
                        let base = inner + outer * stride * n
                        for i in 0..<n {
                            var acc: Float = 0, w: Float = 0
                            let lo = max(0, i - radius), hi = min(n - 1, i + radius)
                            for j in lo...hi {
                                let k = kernel[j - i + radius]
                                acc += k * sp[base + j * stride]
                                w += k
                            }
                            op[base + i * stride] = acc / w
                        }
                    }
                }
            }
        }
        return out
    }
}
