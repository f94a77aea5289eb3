import Foundation
import GantryCore

extension Tensor {
    /// Group normalisation over (channels of a group × spatial) per sample, with optional per-channel
    /// affine (PyTorch `group_norm`; `groups == C` is instance norm, MONAI's default norm).
    public func groupNorm(groups g: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard g >= 1, c % g == 0 else { throw GantryError.invalidArgument("group norm: \(c) channels not divisible by \(g) groups") }
        let cg = c / g, m = cg * inner
        var xhat = [Float](repeating: 0, count: count)
        var invStd = [Float](repeating: 0, count: n * g)
        for b in 0..<n { for gi in 0..<g {
            let o = (b * c + gi * cg) * inner
            var mean = 0.0, sq = 0.0
            for i in 0..<m { mean += Double(data[o + i]) }
            mean /= Double(m)
            for i in 0..<m { let d = Double(data[o + i]) - mean; sq += d * d }
            let inv = Float(1 / (sq / Double(m) + Double(eps)).squareRoot())
            invStd[b * g + gi] = inv
            for i in 0..<m { xhat[o + i] = (data[o + i] - Float(mean)) * inv }
        } }
        var y = xhat
        if let weight { for b in 0..<n { for ch in 0..<c { let s = weight.data[ch], o = (b * c + ch) * inner; for i in 0..<inner { y[o + i] *= s } } } }
        if let bias { for b in 0..<n { for ch in 0..<c { let s = bias.data[ch], o = (b * c + ch) * inner; for i in 0..<inner { y[o + i] += s } } } }
        let parents = [self] + [weight, bias].compactMap { $0 }
        return Tensor.result(shape: shape, data: y, parents: parents) { gy in
            // dxhat = gy·γ; dx = inv/m · (m·dxhat − Σdxhat − xhat·Σ(dxhat·xhat)) per group
            var dxhat = gy
            if let weight { for b in 0..<n { for ch in 0..<c { let s = weight.data[ch], o = (b * c + ch) * inner; for i in 0..<inner { dxhat[o + i] *= s } } } }
            var dx = [Float](repeating: 0, count: self.count)
            for b in 0..<n { for gi in 0..<g {
                let o = (b * c + gi * cg) * inner
                var s1 = 0.0, s2 = 0.0
                for i in 0..<m { s1 += Double(dxhat[o + i]); s2 += Double(dxhat[o + i] * xhat[o + i]) }
                let inv = invStd[b * g + gi]
                for i in 0..<m { dx[o + i] = inv / Float(m) * (Float(m) * dxhat[o + i] - Float(s1) - xhat[o + i] * Float(s2)) }
            } }
            self.accumulate(dx)
            if let weight {
                var gw = [Float](repeating: 0, count: c)
                for b in 0..<n { for ch in 0..<c { let o = (b * c + ch) * inner; var s: Float = 0; for i in 0..<inner { s += gy[o + i] * xhat[o + i] }; gw[ch] += s } }
                weight.accumulate(gw)
            }
            if let bias {
                var gb = [Float](repeating: 0, count: c)
                for b in 0..<n { for ch in 0..<c { let o = (b * c + ch) * inner; var s: Float = 0; for i in 0..<inner { s += gy[o + i] }; gb[ch] += s } }
                bias.accumulate(gb)
            }
        }
    }

    /// Instance normalisation (group norm with one channel per group).
    public func instanceNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) throws -> Tensor {
        try groupNorm(groups: shape[1], weight: weight, bias: bias, eps: eps)
    }

    /// Batch normalisation. Training: batch statistics (biased variance for normalising, unbiased for
    /// the running update, momentum as PyTorch's); evaluation: the running statistics.
    public func batchNorm(runningMean: inout [Float], runningVar: inout [Float], weight: Tensor? = nil, bias: Tensor? = nil,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard runningMean.count == c, runningVar.count == c else { throw GantryError.invalidArgument("batch norm: running stats need \(c) channels") }
        let m = n * inner
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            if training {
                var s = 0.0, sq = 0.0
                for b in 0..<n { let o = (b * c + ch) * inner; for i in 0..<inner { s += Double(data[o + i]) } }
                let mu = s / Double(m)
                for b in 0..<n { let o = (b * c + ch) * inner; for i in 0..<inner { let d = Double(data[o + i]) - mu; sq += d * d } }
                mean[ch] = Float(mu)
                invStd[ch] = Float(1 / (sq / Double(m) + Double(eps)).squareRoot())
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(mu)
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(sq / Double(max(m - 1, 1)))
            } else {
                mean[ch] = runningMean[ch]
                invStd[ch] = 1 / (runningVar[ch] + eps).squareRoot()
            }
        }
        var xhat = [Float](repeating: 0, count: count)
        for b in 0..<n { for ch in 0..<c { let o = (b * c + ch) * inner; for i in 0..<inner { xhat[o + i] = (data[o + i] - mean[ch]) * invStd[ch] } } }
        var y = xhat
        for b in 0..<n { for ch in 0..<c {
            let s = weight?.data[ch] ?? 1, t = bias?.data[ch] ?? 0, o = (b * c + ch) * inner
            for i in 0..<inner { y[o + i] = y[o + i] * s + t }
        } }
        let parents = [self] + [weight, bias].compactMap { $0 }
        return Tensor.result(shape: shape, data: y, parents: parents) { gy in
            var dx = [Float](repeating: 0, count: self.count)
            var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
            for ch in 0..<c {
                let s = weight?.data[ch] ?? 1
                var s1: Float = 0, s2: Float = 0
                for b in 0..<n { let o = (b * c + ch) * inner; for i in 0..<inner { s1 += gy[o + i]; s2 += gy[o + i] * xhat[o + i] } }
                gw[ch] = s2; gb[ch] = s1
                for b in 0..<n { let o = (b * c + ch) * inner; for i in 0..<inner {
                    dx[o + i] = training ? s * invStd[ch] / Float(m) * (Float(m) * gy[o + i] - s1 - xhat[o + i] * s2) : s * invStd[ch] * gy[o + i]
                } }
            }
            self.accumulate(dx)
            weight?.accumulate(gw)
            bias?.accumulate(gb)
        }
    }
}
