import Foundation
import GantryCore

extension Tensor {
    /// log Σ_c exp(x_c) per sample and voxel, stabilised by the channel maximum; voxels in
    /// parallel chunks (a sliding window calls softmax once per window).
    func logSumExpChannels() -> [Float] {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        return data.withUnsafeBufferPointer { xb in
            guard let xp = xb.baseAddress, n * inner > 0 else { return [Float](repeating: 0, count: n * inner) }
            return Buffers.make(n * inner) { out, r in
                for j in r {
                    let p = xp + (j / inner) * c * inner + j % inner
                    var m = -Float.infinity
                    for ch in 0..<c { m = max(m, p[ch * inner]) }
                    var s: Float = 0
                    for ch in 0..<c { s += exp(p[ch * inner] - m) }
                    out[j] = m + log(s)
                }
            }
        }
    }

    /// Softmax over the channel axis (dim 1): per voxel, exp(x − max) over its channels divided by
    /// their sum — one exponential per value (sliding-window inference takes it on every window).
    public func softmaxChannels() -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        let y = [Float](unsafeUninitializedCapacity: count) { yb, initialised in
            data.withUnsafeBufferPointer { xb in
                guard let xp = xb.baseAddress, let yp = yb.baseAddress, c > 0, inner > 0 else { return }
                // Blocks of voxels within one sample, each pass over a block a contiguous loop per channel.
                let block = 256, blocks = (inner + block - 1) / block
                Parallel.forEach(n * blocks, work: n * c * inner) { job in
                    let b = job / blocks, start = (job % blocks) * block, len = min(block, inner - start)
                    let x0 = xp + b * c * inner + start, y0 = yp + b * c * inner + start
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { tmp in
                        let m = tmp.baseAddress!, sum = m + block
                        m.update(from: x0, count: len)
                        for ch in 1..<max(c, 1) { let xc = x0 + ch * inner; for i in 0..<len { m[i] = max(m[i], xc[i]) } }
                        sum.update(repeating: 0, count: len)
                        for ch in 0..<c {
                            let xc = x0 + ch * inner, yc = y0 + ch * inner
                            for i in 0..<len { let e = exp(xc[i] - m[i]); yc[i] = e; sum[i] += e }
                        }
                        for i in 0..<len { sum[i] = 1 / sum[i] }
                        for ch in 0..<c { let yc = y0 + ch * inner; for i in 0..<len { yc[i] *= sum[i] } }
                    }
                }
            }
            initialised = count
        }
        return Tensor.result(shape: shape, data: y, parents: [self]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            for b in 0..<n { for i in 0..<inner {
                var dot: Float = 0
                for ch in 0..<c { let o = (b * c + ch) * inner + i; dot += gy[o] * y[o] }
                for ch in 0..<c { let o = (b * c + ch) * inner + i; gx[o] = y[o] * (gy[o] - dot) }
            } }
            self.accumulate(gx)
        }
    }

    /// Log-softmax over channels (numerically stable).
    public func logSoftmaxChannels() -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        let lse = logSumExpChannels()
        var y = data
        for b in 0..<n { for ch in 0..<c { for i in 0..<inner { y[(b * c + ch) * inner + i] -= lse[b * inner + i] } } }
        return Tensor.result(shape: shape, data: y, parents: [self]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            for b in 0..<n { for i in 0..<inner {
                var s: Float = 0
                for ch in 0..<c { s += gy[(b * c + ch) * inner + i] }
                for ch in 0..<c { let o = (b * c + ch) * inner + i; gx[o] = gy[o] - exp(y[o]) * s }
            } }
            self.accumulate(gx)
        }
    }

    /// Mean cross-entropy of logits [N, C, …] against integer class labels [N, 1, …] (PyTorch's
    /// `cross_entropy` with reduction mean).
    public func crossEntropy(labels: Tensor) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard labels.count == n * inner else { throw GantryError.invalidArgument("cross entropy: labels \(labels.shape) vs logits \(shape)") }
        let lsm = logSoftmaxChannels()
        var pick = [Float](repeating: 0, count: count)
        for b in 0..<n { for i in 0..<inner {
            let l = Int(labels.data[b * inner + i])
            guard l >= 0, l < c else { continue }
            pick[(b * c + l) * inner + i] = -1 / Float(n * inner)
        } }
        return (lsm * Tensor(shape: shape, data: pick)).sum()
    }

    /// Soft Dice loss of softmax probabilities against one-hot labels, mean over classes
    /// (`includeBackground` false drops class 0), smooth 1e-5 in numerator and denominator (MONAI's
    /// DiceLoss(softmax=True, to_onehot_y=True) defaults, batch = False: per sample then mean).
    public func softDiceLoss(labels: Tensor, includeBackground: Bool = true, smooth: Float = 1e-5) throws -> Tensor {
        let n = shape[0], c = shape[1], inner = shape.dropFirst(2).reduce(1, *)
        guard labels.count == n * inner else { throw GantryError.invalidArgument("dice loss: labels \(labels.shape) vs logits \(shape)") }
        let p = softmaxChannels()
        var onehot = [Float](repeating: 0, count: count)
        for b in 0..<n { for i in 0..<inner { let l = Int(labels.data[b * inner + i]); if l >= 0 && l < c { onehot[(b * c + l) * inner + i] = 1 } } }
        let first = includeBackground ? 0 : 1
        let pd = p.data
        var lossValue: Float = 0
        var parts: [(b: Int, ch: Int, inter: Float, denom: Float)] = []
        for b in 0..<n { for ch in first..<c {
            var inter: Float = 0, sp: Float = 0, sg: Float = 0
            for i in 0..<inner { let o = (b * c + ch) * inner + i; inter += pd[o] * onehot[o]; sp += pd[o]; sg += onehot[o] }
            let denom = sp + sg
            lossValue += 1 - (2 * inter + smooth) / (denom + smooth)
            parts.append((b, ch, inter, denom))
        } }
        let k = Float(parts.count)
        return Tensor.result(shape: [1], data: [lossValue / k], parents: [p]) { g in
            var gp = [Float](repeating: 0, count: p.count)
            for part in parts {
                let num = 2 * part.inter + smooth, den = part.denom + smooth
                for i in 0..<inner {
                    let o = (part.b * c + part.ch) * inner + i
                    // d/dp of −num/den = −(2·onehot·den − num)/den²
                    gp[o] = g[0] / k * -(2 * onehot[o] * den - num) / (den * den)
                }
            }
            p.accumulate(gp)
        }
    }
}

extension Tensor {
    /// Mean absolute error against a constant target.
    public func l1(_ target: Tensor) throws -> Tensor {
        guard shape == target.shape else { throw GantryError.invalidArgument("l1: shapes \(shape) and \(target.shape) differ") }
        let n = Float(count)
        let y = zip(data, target.data).reduce(Float(0)) { $0 + abs($1.0 - $1.1) } / n
        return Tensor.result(shape: [1], data: [y], parents: [self]) { g in
            self.accumulate(zip(self.data, target.data).map { ($0 > $1 ? 1 : ($0 < $1 ? -1 : 0)) * g[0] / n })
        }
    }

    /// 1 − SSIM for [N, 1, H, W] images against a target, fastMRI/atommic's SSIMLoss: 7×7 uniform
    /// windows, K1 0.01, K2 0.03, sample covariance, data range given (typically the target's max).
    /// Window sums are separable (rows, then columns) and so is the gradient: ∂/∂x at a pixel is
    /// the sum over the windows that hold it of A + B·x + C·t, three maps spread back by the same
    /// box. A RIM's loss takes one per time step: window by window it was 8 % of a training step.
    public func ssimLoss(_ target: Tensor, dataRange: Float, window: Int = 7) throws -> Tensor {
        guard shape.count == 4, shape[1] == 1, shape == target.shape, shape[2] >= window, shape[3] >= window else {
            throw GantryError.invalidArgument("ssim loss: needs matching [N, 1, H, W] images ≥ \(window)×\(window), got \(shape) and \(target.shape)")
        }
        let (n, h, w) = (shape[0], shape[2], shape[3])
        let (oh, ow) = (h - window + 1, w - window + 1)
        let ssim = SSIMWindow<Float>(dataRange: dataRange, side: window)
        let np = ssim.count, cov = ssim.covariance
        let x = data, t = target.data
        let sums = [x, t, zip(x, x).map(*), zip(t, t).map(*), zip(x, t).map(*)].map { Self.windowSums($0, n: n, h: h, w: w, side: window) }
        // Per window: its SSIM, and the coefficients of its gradient A + B·x + C·t (∂mx/∂x = 1/np,
        // ∂vx/∂x = cov·2(x − mx)/np, ∂vxy/∂x = cov·(t − my)/np). Rows summed apart, then in order.
        let windows = n * oh
        var rowTotals = [Float](repeating: 0, count: windows)
        var coefA = [Float](repeating: 0, count: n * oh * ow), coefB = coefA, coefC = coefA
        rowTotals.withUnsafeMutableBufferPointer { rt in coefA.withUnsafeMutableBufferPointer { ab in coefB.withUnsafeMutableBufferPointer { bb in coefC.withUnsafeMutableBufferPointer { cb in
            let (rp, ap, bp, cp) = (rt.baseAddress!, ab.baseAddress!, bb.baseAddress!, cb.baseAddress!)
            Parallel.forEach(windows, work: windows * ow * 40) { row in
                var total: Float = 0
                for k in (row * ow)..<((row + 1) * ow) {
                    let e = ssim.evaluate(sx: sums[0][k], sy: sums[1][k], sxx: sums[2][k], syy: sums[3][k], sxy: sums[4][k])
                    total += e.ssim
                    ap[k] = (e.dMx - e.dVx * cov * 2 * e.mx - e.dVxy * cov * e.my) / np
                    bp[k] = e.dVx * cov * 2 / np
                    cp[k] = e.dVxy * cov / np
                }
                rp[row] = total
            }
        } } } }
        let count = Float(n * oh * ow)
        return Tensor.result(shape: [1], data: [1 - rowTotals.reduce(0, +) / count], parents: [self]) { g in
            let s = -g[0] / count
            let (sa, sb, sc) = (Self.windowSpread(coefA, n: n, h: h, w: w, side: window), Self.windowSpread(coefB, n: n, h: h, w: w, side: window),
                                Self.windowSpread(coefC, n: n, h: h, w: w, side: window))
            var gx = [Float](repeating: 0, count: self.count)
            for o in 0..<gx.count { gx[o] = s * (sa[o] + sb[o] * x[o] + sc[o] * t[o]) }
            self.accumulate(gx)
        }
    }

    /// Every window's sum of [n, h, w] planes (outputs (h − side + 1) × (w − side + 1)).
    static func windowSums(_ v: [Float], n: Int, h: Int, w: Int, side: Int) -> [Float] {
        boxSums(v, n: n, h: h, w: w, before: 0, after: side - 1, outH: h - side + 1, outW: w - side + 1)
    }

    /// The adjoint of `windowSums`: each pixel of [n, h, w] gets the sum of `u` (one value per
    /// window position) over the windows that hold it.
    static func windowSpread(_ u: [Float], n: Int, h: Int, w: Int, side: Int) -> [Float] {
        boxSums(u, n: n, h: h - side + 1, w: w - side + 1, before: side - 1, after: 0, outH: h, outW: w)
    }

    /// out[b][i][j] = Σ v[b][y][x] over y ∈ [i − before, i + after] and x ∈ [j − before, j + after]
    /// inside the h × w plane, for outH × outW positions: rows of sums, then columns of them.
    static func boxSums(_ v: [Float], n: Int, h: Int, w: Int, before: Int, after: Int, outH: Int, outW: Int) -> [Float] {
        var rows = [Float](repeating: 0, count: n * h * outW), out = [Float](repeating: 0, count: n * outH * outW)
        v.withUnsafeBufferPointer { vb in rows.withUnsafeMutableBufferPointer { rb in out.withUnsafeMutableBufferPointer { ob in
            let (vp, rp, op) = (vb.baseAddress!, rb.baseAddress!, ob.baseAddress!), reach = before + after + 1
            Parallel.forEach(n * h, work: n * h * outW * reach) { r in
                let src = vp + r * w, dst = rp + r * outW
                for j in 0..<outW {
                    var acc: Float = 0
                    for x in max(0, j - before)...min(w - 1, j + after) { acc += src[x] }
                    dst[j] = acc
                }
            }
            Parallel.forEach(n * outH, work: n * outH * outW * reach) { r in
                let (b, i) = (r / outH, r % outH), dst = op + r * outW
                for y in max(0, i - before)...min(h - 1, i + after) { let src = rp + (b * h + y) * outW; for j in 0..<outW { dst[j] += src[j] } }
            }
        } } }
        return out
    }
}
