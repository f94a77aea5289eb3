import Foundation
import GantryCore

extension Tensor {
    /// self + other, same shape.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        return result(shape: a.shape, data: Buffers.binary(a.data, b.data) { o, x, y, r in for i in r { o[i] = x[i] + y[i] } }, parents: [a, b]) { g in a.accumulate(g); b.accumulate(g) }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "sub: shapes \(a.shape) and \(b.shape) differ")
        return result(shape: a.shape, data: Buffers.binary(a.data, b.data) { o, x, y, r in for i in r { o[i] = x[i] - y[i] } }, parents: [a, b]) { g in a.accumulate(g); b.accumulate(Buffers.unary(g) { o, x, r in for i in r { o[i] = -x[i] } }) }
    }

    /// Elementwise product, same shape.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "mul: shapes \(a.shape) and \(b.shape) differ")
        return result(shape: a.shape, data: product(a.data, b.data), parents: [a, b]) { g in
            a.accumulate(Tensor.product(g, b.data)); b.accumulate(Tensor.product(g, a.data))
        }
    }

    /// a ⊙ b as a new array (products in gradients).
    static func product(_ a: [Float], _ b: [Float]) -> [Float] {
        Buffers.binary(a, b) { o, x, y, r in for i in r { o[i] = x[i] * y[i] } }
    }

    public func scaled(_ s: Float) -> Tensor {
        Tensor.result(shape: shape, data: Buffers.unary(data) { o, x, r in for i in r { o[i] = x[i] * s } }, parents: [self]) { g in self.accumulate(Buffers.unary(g) { o, x, r in for i in r { o[i] = x[i] * s } }) }
    }

    /// Per-channel bias: self is [N, C, …], bias [C].
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        let c = shape[1], inner = shape.dropFirst(2).reduce(1, *), n = shape[0]
        precondition(bias.count == c, "bias has \(bias.count) values for \(c) channels")
        let bv = bias.data
        let out = data.withUnsafeBufferPointer { xb in
            let xp = xb.baseAddress
            return Buffers.planes(n * c, inner: inner) { o, j in
                let v = bv[j % c], src = xp.unsafelyUnwrapped + j * inner
                for i in 0..<inner { o[i] = src[i] + v }
            }
        }
        return Tensor.result(shape: shape, data: out, parents: [self, bias]) { g in
            self.accumulate(g)
            bias.accumulate(Buffers.channelSums(g, n: n, c: c, inner: inner))
        }
    }

    /// Pointwise function with its derivative (as a function of input x and output y).
    @inline(__always)
    func pointwise(_ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        let y = Buffers.unary(data) { o, x, r in for i in r { o[i] = f(x[i]) } }
        return Tensor.result(shape: shape, data: y, parents: [self]) { g in
            self.accumulate(Buffers.ternary(g, self.data, y) { o, g, x, y, r in for i in r { o[i] = g[i] * derivative(x[i], y[i]) } })
        }
    }

    /// ReLU, the most frequent activation.
    public func relu() -> Tensor {
        let y = Buffers.unary(data) { o, x, r in for i in r { o[i] = x[i] > 0 ? x[i] : 0 } }
        return Tensor.result(shape: shape, data: y, parents: [self]) { g in
            self.accumulate(Buffers.binary(g, y) { o, g, y, r in for i in r { o[i] = y[i] > 0 ? g[i] : 0 } })
        }
    }
    /// ReLU that may reuse the receiver's buffer: when nothing is recorded (inference) the values
    /// are clamped in place and the receiver itself is returned. Only for a fresh intermediate the
    /// caller drops (a convolution's output before its activation) — it saves one activation-sized
    /// allocation and pass per layer.
    public func reluReusingStorage() -> Tensor {
        guard !Tensor.isRecording, !requiresGrad else { return relu() }
        let n = count
        data.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress else { return }
            Buffers.forEachChunk(n) { r in for i in r { p[i] = p[i] > 0 ? p[i] : 0 } }
        }
        return self
    }
    public func leakyReLU(_ slope: Float = 0.01) -> Tensor { pointwise({ $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope }) }
    public func sigmoid() -> Tensor { pointwise({ 1 / (1 + exp(-$0)) }, derivative: { _, y in y * (1 - y) }) }
    public func tanh() -> Tensor { pointwise({ Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }

    /// Sum of all elements (a scalar [1]).
    public func sum() -> Tensor {
        // Vector partial sums over fixed chunks (in parallel), added in chunk order in Double: the
        // same result for any thread count. A scalar `reduce` is one dependent add per value
        // (~50 ms on a 16-channel 128³ activation).
        let n = count, chunks = (n + Buffers.chunk - 1) / Buffers.chunk
        var partial = [Double](repeating: 0, count: chunks)
        data.withUnsafeBufferPointer { xb in partial.withUnsafeMutableBufferPointer { pb in
            guard let xp = xb.baseAddress, let pp = pb.baseAddress else { return }
            Parallel.forEach(chunks, work: n) { j in
                let lo = j * Buffers.chunk
                pp[j] = Reduce.sum(xp + lo, min(n, lo + Buffers.chunk) - lo)
            }
        } }
        let s = Float(partial.reduce(0, +))
        return Tensor.result(shape: [1], data: [s], parents: [self]) { g in self.accumulate([Float](repeating: g[0], count: self.count)) }
    }

    /// Mean of all elements.
    public func mean() -> Tensor { sum().scaled(1 / Float(count)) }

    /// Mean squared error against a constant target.
    public func mse(_ target: Tensor) -> Tensor {
        precondition(shape == target.shape, "mse: shapes \(shape) and \(target.shape) differ")
        let d = (self - target.detached())
        return (d * d).mean()
    }
}
