import Foundation
import GantryCore
import GantryLinearAlgebra

extension Tensor {
    /// Group normalisation over (channels of a group × spatial) per sample, with optional per-channel
    /// affine (PyTorch `group_norm`; `groups == C` is instance norm, MONAI's default norm).
    public func groupNorm(groups g: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard g >= 1, c % g == 0 else { throw GantryError.invalidArgument("group norm: \(c) channels not divisible by \(g) groups") }
        let cg = c / g, m = cg * inner
        // x̂ is kept for the backward pass only when one will run (inference skips it).
        let parents = [self] + [weight, bias].compactMap { $0 }, keep = Tensor.records(parents)
        var xhat = keep ? [Float](unsafeUninitializedCapacity: count) { _, n in n = self.count } : []
        let gamma = weight?.data, beta = bias?.data
        // Every value of y (and x̂) is written by its (sample, group) job: no zero fill.
        var y = [Float](unsafeUninitializedCapacity: count) { _, n in n = self.count }
        let stats = groupStatistics(groups: g, eps: eps), invStd = stats.invStd
        data.withUnsafeBufferPointer { xb in xhat.withUnsafeMutableBufferPointer { hb in y.withUnsafeMutableBufferPointer { yb in
            // (an empty array's buffer can still have a base address: test `keep`, not the pointer)
            let (xp, hp, yp) = (xb.baseAddress!, keep ? hb.baseAddress : nil, yb.baseAddress!)
            Parallel.forEach(n * g, work: count) { job in
                let (mu, inv) = (stats.mean[job], invStd[job])
                for k in 0..<cg {
                    let ch = (job % g) * cg + k, base = job * m + k * inner
                    let sc = (gamma?[ch] ?? 1) * inv, sh = beta?[ch] ?? 0
                    if let hp {
                        for i in base..<(base + inner) { let d = xp[i] - mu; hp[i] = d * inv; yp[i] = d * sc + sh }
                    } else {
                        for i in base..<(base + inner) { yp[i] = (xp[i] - mu) * sc + sh }
                    }
                }
            }
        } } }
        let onesBuffer = [Float](repeating: 1, count: inner)
        return Tensor.result(shape: shape, data: y, parents: parents) { gy in
            // dx̂ = gy·γ; dx = inv/m · (m·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)) per group; dγ = Σ gy·x̂, dβ = Σ gy per channel
            var dx = [Float](repeating: 0, count: self.count)
            var gw = [Float](repeating: 0, count: n * c), gb = [Float](repeating: 0, count: n * c)
            onesBuffer.withUnsafeBufferPointer { onesb in
            gy.withUnsafeBufferPointer { gb0 in xhat.withUnsafeBufferPointer { hb in dx.withUnsafeMutableBufferPointer { db in
                gw.withUnsafeMutableBufferPointer { gwb in gb.withUnsafeMutableBufferPointer { gbb in
                    let (gp, hp, dp, gwp, gbp, ones) = (gb0.baseAddress!, hb.baseAddress!, db.baseAddress!, gwb.baseAddress!, gbb.baseAddress!, onesb.baseAddress!)
                    Parallel.forEach(n * g) { job in
                        let o = job * m, b = job / g
                        var s1 = 0.0, s2 = 0.0
                        for k in 0..<cg {
                            let ch = (job % g) * cg + k, base = o + k * inner, sc = gamma?[ch] ?? 1
                            let c1 = BLAS.dot(inner, gp + base, ones), c2 = BLAS.dot(inner, gp + base, hp + base)
                            gbp[b * c + ch] = c1; gwp[b * c + ch] = c2
                            s1 += Double(c1 * sc); s2 += Double(c2 * sc)
                        }
                        let inv = invStd[job], fm = Float(m), fs1 = Float(s1), fs2 = Float(s2)
                        for k in 0..<cg {
                            let ch = (job % g) * cg + k, base = o + k * inner, sc = gamma?[ch] ?? 1
                            let a = inv * sc, b0 = inv / fm * fs1, b1 = inv / fm * fs2
                            for i in base..<(base + inner) { dp[i] = a * gp[i] - b0 - hp[i] * b1 }
                        }
                    }
                } }
            } } }
            }
            self.accumulate(dx)
            func perChannel(_ v: [Float]) -> [Float] { (0..<c).map { ch in (0..<n).reduce(Float(0)) { $0 + v[$1 * c + ch] } } }
            weight?.accumulate(perChannel(gw))
            bias?.accumulate(perChannel(gb))
        }
    }

    /// Mean and 1/√(variance + eps) per (sample, group), in Double across vector partial sums: the
    /// mean, then the squared deviations from it (two reading passes, nothing stored). Shared by
    /// `groupNorm` and `normalizedInPlace`, so the fused inference path gives the same values.
    func groupStatistics(groups g: Int, eps: Float) -> (mean: [Float], invStd: [Float]) {
        let n = shape[0], m = count / max(n * g, 1)
        var mean = [Float](repeating: 0, count: n * g), invStd = [Float](repeating: 0, count: n * g)
        data.withUnsafeBufferPointer { xb in mean.withUnsafeMutableBufferPointer { mb in invStd.withUnsafeMutableBufferPointer { ib in
            guard let xp = xb.baseAddress, let mp = mb.baseAddress, let ip = ib.baseAddress, m > 0 else { return }
            Parallel.forEach(n * g, work: count) { job in
                let o = xp + job * m
                let mu = Float(Reduce.sum(o, m) / Double(m))
                mp[job] = mu
                ip[job] = Float(1 / (Reduce.squaredDeviations(o, m, from: mu) / Double(m) + Double(eps)).squareRoot())
            }
        } } }
        return (mean, invStd)
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
        let x = data, work = count
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        if training {
            // Per channel, in Double, in the same order as a serial pass (results do not depend on threads).
            var stats = [Double](repeating: 0, count: 2 * c)
            x.withUnsafeBufferPointer { xb in stats.withUnsafeMutableBufferPointer { sb in
                let (xp, sp) = (xb.baseAddress!, sb.baseAddress!)
                Parallel.forEach(c, work: work) { ch in
                    var s = 0.0
                    for b in 0..<n { let p = xp + (b * c + ch) * inner; for i in 0..<inner { s += Double(p[i]) } }
                    let mu = s / Double(m)
                    var sq = 0.0
                    for b in 0..<n { let p = xp + (b * c + ch) * inner; for i in 0..<inner { let d = Double(p[i]) - mu; sq += d * d } }
                    sp[2 * ch] = mu; sp[2 * ch + 1] = sq
                }
            } }
            for ch in 0..<c {
                let mu = stats[2 * ch], sq = stats[2 * ch + 1]
                mean[ch] = Float(mu)
                invStd[ch] = Float(1 / (sq / Double(m) + Double(eps)).squareRoot())
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(mu)
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(sq / Double(max(m - 1, 1)))
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                invStd[ch] = 1 / (runningVar[ch] + eps).squareRoot()
            }
        }
        let scale = (0..<c).map { weight?.data[$0] ?? 1 }, shift = (0..<c).map { bias?.data[$0] ?? 0 }
        // Every value is written by its channel plane's job (no zero fill); x̂ is kept only when a
        // backward pass will run (inference skips it).
        let parents = [self] + [weight, bias].compactMap { $0 }, keep = Tensor.records(parents)
        var xhat = keep ? [Float](unsafeUninitializedCapacity: count) { _, k in k = self.count } : []
        var y = [Float](unsafeUninitializedCapacity: count) { _, k in k = self.count }
        x.withUnsafeBufferPointer { xb in xhat.withUnsafeMutableBufferPointer { hb in y.withUnsafeMutableBufferPointer { yb in
            // (an empty array's buffer can still have a base address: test `keep`, not the pointer)
            let (xp, hp, yp) = (xb.baseAddress!, keep ? hb.baseAddress : nil, yb.baseAddress!)
            Parallel.forEach(n * c, work: work) { j in
                let ch = j % c, mu = mean[ch], k = invStd[ch], s = scale[ch], t = shift[ch], o = j * inner
                if let hp {
                    for i in o..<(o + inner) { let h = (xp[i] - mu) * k; hp[i] = h; yp[i] = h * s + t }
                } else {
                    for i in o..<(o + inner) { yp[i] = (xp[i] - mu) * k * s + t }
                }
            }
        } } }
        return Tensor.result(shape: shape, data: y, parents: parents) { gy in
            var dx = [Float](repeating: 0, count: self.count)
            var gw = [Float](repeating: 0, count: c), gb = [Float](repeating: 0, count: c)
            gy.withUnsafeBufferPointer { gyb in xhat.withUnsafeBufferPointer { hb in dx.withUnsafeMutableBufferPointer { db in
                gw.withUnsafeMutableBufferPointer { gwb in gb.withUnsafeMutableBufferPointer { gbb in
                    let (gp, hp, dp, gwp, gbp) = (gyb.baseAddress!, hb.baseAddress!, db.baseAddress!, gwb.baseAddress!, gbb.baseAddress!)
                    Parallel.forEach(c, work: work) { ch in
                        let s = scale[ch], k = invStd[ch], fm = Float(m)
                        var s1: Float = 0, s2: Float = 0
                        for b in 0..<n { let o = (b * c + ch) * inner; for i in o..<(o + inner) { s1 += gp[i]; s2 += gp[i] * hp[i] } }
                        gwp[ch] = s2; gbp[ch] = s1
                        for b in 0..<n { let o = (b * c + ch) * inner; for i in o..<(o + inner) {
                            dp[i] = training ? s * k / fm * (fm * gp[i] - s1 - hp[i] * s2) : s * k * gp[i]
                        } }
                    }
                } }
            } } }
            self.accumulate(dx)
            weight?.accumulate(gw)
            bias?.accumulate(gb)
        }
    }
}

/// The activation a norm can apply in its output pass (`Tensor.normalizedInPlace`).
public enum FusedActivation {
    case relu
    /// PReLU with one slope, or one per channel.
    case prelu(Tensor)
}

/// The statistics a norm normalises with (`Tensor.normalizedInPlace`).
public enum FusedNorm {
    /// Group norm over `groups` groups per sample (instance norm: groups = channels), optional affine.
    case group(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float)
    /// Batch norm in evaluation mode: the running statistics, optional affine.
    case batchEvaluation(runningMean: [Float], runningVar: [Float], weight: Tensor?, bias: Tensor?, eps: Float)
}

extension Tensor {
    /// A norm then an activation, for a fresh intermediate the caller drops (a convolution's
    /// output). When no backward pass will run (inference) each channel plane is mapped to
    /// act(((x − μ)·a)·b + t) in one pass over the receiver's own storage, which is returned: a
    /// norm and an activation as separate ops read and write every value two or three more times
    /// (x − μ, then the affine map into a new buffer, then the activation into another) and the
    /// U-Nets' full-resolution activations are tens of MB. Otherwise it is exactly the two ops.
    public func normalizedInPlace(_ norm: FusedNorm, activation: FusedActivation?) throws -> Tensor {
        var slopeTensor: Tensor? = nil
        if case .prelu(let s)? = activation { slopeTensor = s }
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        let parents: [Tensor]
        switch norm {
        case .group(_, let w, let b, _), .batchEvaluation(_, _, let w, let b, _): parents = [self] + [w, b, slopeTensor].compactMap { $0 }
        }
        if Tensor.records(parents) {
            var y: Tensor
            switch norm {
            case .group(let g, let w, let b, let eps): y = try groupNorm(groups: g, weight: w, bias: b, eps: eps)
            case .batchEvaluation(var mean, var variance, let w, let b, let eps):
                y = try batchNorm(runningMean: &mean, runningVar: &variance, weight: w, bias: b, training: false, eps: eps)
            }
            switch activation {
            case .relu?: y = y.relu()
            case .prelu(let s)?: y = try y.prelu(s)
            case nil: break
            }
            return y
        }
        // Per channel plane (sample-major): y = ((x − μ)·a)·b + t, the composed ops' arithmetic
        // exactly (group norm: a = γ·inv, b = 1; batch norm: a = 1/√(var + eps), b = γ), so inference
        // gives the values training-mode recomputation does (the reversible network relies on it).
        let planes = n * c
        var mu = [Float](repeating: 0, count: planes), a = [Float](repeating: 1, count: planes)
        var b = [Float](repeating: 1, count: planes), t = [Float](repeating: 0, count: planes)
        switch norm {
        case .group(let g, let w, let bias, let eps):
            guard g >= 1, c % g == 0 else { throw GantryError.invalidArgument("group norm: \(c) channels not divisible by \(g) groups") }
            let cg = c / g, gamma = w?.data, beta = bias?.data
            let stats = groupStatistics(groups: g, eps: eps)
            for s0 in 0..<n { for ch in 0..<c {
                let job = s0 * g + ch / cg, j = s0 * c + ch
                mu[j] = stats.mean[job]; a[j] = (gamma?[ch] ?? 1) * stats.invStd[job]; t[j] = beta?[ch] ?? 0
            } }
        case .batchEvaluation(let runningMean, let runningVar, let w, let bias, let eps):
            guard runningMean.count == c, runningVar.count == c else { throw GantryError.invalidArgument("batch norm: running stats need \(c) channels") }
            for s0 in 0..<n { for ch in 0..<c {
                let j = s0 * c + ch
                mu[j] = runningMean[ch]; a[j] = 1 / (runningVar[ch] + eps).squareRoot(); b[j] = w?.data[ch] ?? 1; t[j] = bias?.data[ch] ?? 0
            } }
        }
        let slopes = slopeTensor?.data ?? []
        guard slopes.isEmpty || slopes.count == 1 || slopes.count == c else { throw GantryError.invalidArgument("prelu: \(slopes.count) slopes for \(c) channels") }
        let relu: Bool
        if case .relu? = activation { relu = true } else { relu = false }
        data.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            Parallel.forEach(planes, work: planes * inner) { j in
                let p = xp + j * inner, (m, s, r, u) = (mu[j], a[j], b[j], t[j])
                if !slopes.isEmpty {
                    let k = slopes[slopes.count == 1 ? 0 : j % c]
                    for i in 0..<inner { let v = (p[i] - m) * s * r + u; p[i] = v < 0 ? v * k : v }
                } else if relu {
                    for i in 0..<inner { let v = (p[i] - m) * s * r + u; p[i] = v > 0 ? v : 0 }
                } else {
                    for i in 0..<inner { p[i] = (p[i] - m) * s * r + u }
                }
            }
        }
        return self
    }
}

/// Reductions in Double across vector partial sums (chunks of 1024 values summed in Float lanes).
enum Reduce {
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double { accumulate(p, n) { $0 } }

    static func squaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from mu: Float) -> Double {
        let m = Lane(repeating: mu)
        return accumulate(p, n) { let d = $0 - m; return d * d }
    }

    @inline(__always)
    private static func accumulate(_ p: UnsafePointer<Float>, _ n: Int, _ f: (Lane) -> Lane) -> Double {
        let L = Lane.scalarCount, chunk = 1024
        var total = 0.0, i = 0
        while i < n {
            let end = min(n, i + chunk), full = i + (end - i) / L * L
            var acc = Lane()
            while i < full { acc += f(UnsafeRawPointer(p + i).loadUnaligned(as: Lane.self)); i += L }
            var s = Double(acc.sum())
            while i < end { let v = f(Lane(repeating: p[i]))[0]; s += Double(v); i += 1 }
            total += s
        }
        return total
    }
}
