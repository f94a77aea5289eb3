import Foundation
import GantryCore

extension Tensor {
    /// self + other, same shape.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        var out = a.data
        for i in 0..<out.count { out[i] += b.data[i] }
        return result(shape: a.shape, data: out, parents: [a, b]) { g in a.accumulate(g); b.accumulate(g) }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "sub: shapes \(a.shape) and \(b.shape) differ")
        var out = a.data
        for i in 0..<out.count { out[i] -= b.data[i] }
        return result(shape: a.shape, data: out, parents: [a, b]) { g in a.accumulate(g); b.accumulate(g.map { -$0 }) }
    }

    /// Elementwise product, same shape.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "mul: shapes \(a.shape) and \(b.shape) differ")
        var out = a.data
        for i in 0..<out.count { out[i] *= b.data[i] }
        return result(shape: a.shape, data: out, parents: [a, b]) { g in
            var ga = g, gb = g
            for i in 0..<g.count { ga[i] *= b.data[i]; gb[i] *= a.data[i] }
            a.accumulate(ga); b.accumulate(gb)
        }
    }

    public func scaled(_ s: Float) -> Tensor {
        Tensor.result(shape: shape, data: data.map { $0 * s }, parents: [self]) { g in self.accumulate(g.map { $0 * s }) }
    }

    /// Per-channel bias: self is [N, C, …], bias [C].
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        let c = shape[1], inner = shape.dropFirst(2).reduce(1, *), n = shape[0]
        precondition(bias.count == c, "bias has \(bias.count) values for \(c) channels")
        var out = data
        let bv = bias.data
        out.withUnsafeMutableBufferPointer { ob in
            let op = ob.baseAddress!
            Parallel.forEach(n * c, work: n * c * inner) { j in
                let v = bv[j % c], p = op + j * inner
                for i in 0..<inner { p[i] += v }
            }
        }
        return Tensor.result(shape: shape, data: out, parents: [self, bias]) { g in
            self.accumulate(g)
            var sums = [Float](repeating: 0, count: n * c)
            g.withUnsafeBufferPointer { gb in sums.withUnsafeMutableBufferPointer { sb in
                let (gp, sp) = (gb.baseAddress!, sb.baseAddress!)
                Parallel.forEach(n * c, work: n * c * inner) { j in
                    let p = gp + j * inner
                    var s: Float = 0
                    for i in 0..<inner { s += p[i] }
                    sp[j] = s
                }
            } }
            var gb = [Float](repeating: 0, count: c)
            for j in 0..<(n * c) { gb[j % c] += sums[j] }
            bias.accumulate(gb)
        }
    }

    /// Pointwise function with its derivative (as a function of input x and output y).
    func pointwise(_ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        let y = data.map(f)
        return Tensor.result(shape: shape, data: y, parents: [self]) { g in
            var gx = g
            for i in 0..<g.count { gx[i] *= derivative(self.data[i], y[i]) }
            self.accumulate(gx)
        }
    }

    /// ReLU with plain loops (vectorised), the most frequent activation.
    public func relu() -> Tensor {
        var y = data
        y.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = max(b[i], 0) } }
        return Tensor.result(shape: shape, data: y, parents: [self]) { g in
            var gx = g
            gx.withUnsafeMutableBufferPointer { gb in y.withUnsafeBufferPointer { yb in for i in gb.indices where yb[i] <= 0 { gb[i] = 0 } } }
            self.accumulate(gx)
        }
    }
    public func leakyReLU(_ slope: Float = 0.01) -> Tensor { pointwise({ $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope }) }
    public func sigmoid() -> Tensor { pointwise({ 1 / (1 + exp(-$0)) }, derivative: { _, y in y * (1 - y) }) }
    public func tanh() -> Tensor { pointwise({ Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }

    /// Sum of all elements (a scalar [1]).
    public func sum() -> Tensor {
        let s = data.reduce(0, +)
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
