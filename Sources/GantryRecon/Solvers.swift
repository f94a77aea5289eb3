import GantryCore

/// Iterative solvers sharing one shape (BART's iter2): an operator, data, a configuration.
public enum Solvers {
    /// Conjugate gradient on the normal equations (AᴴA + λI) x = Aᴴy (SENSE with Tikhonov).
    public static func cgSENSE(_ a: LinearOperator, data y: [Float], lambda: Float, iterations: Int, x0: [Float]? = nil) throws -> [Float] {
        let b = try a.adjoint(y)
        var x = x0 ?? [Float](repeating: 0, count: b.count)
        func apply(_ v: [Float]) throws -> [Float] {
            var r = try a.normal(v)
            if lambda != 0 { ComplexBuffer.axpy(&r, lambda, v) }
            return r
        }
        var r = b
        if x0 != nil { let ax = try apply(x); for i in 0..<r.count { r[i] -= ax[i] } }
        var p = r
        var rr = ComplexBuffer.normSquared(r)
        let stop = 1e-12 * ComplexBuffer.normSquared(b)
        for _ in 0..<iterations where rr > stop {
            let ap = try apply(p)
            let alpha = rr / ComplexBuffer.dot(p, ap).re
            ComplexBuffer.axpy(&x, Float(alpha), p)
            ComplexBuffer.axpy(&r, Float(-alpha), ap)
            let rrNew = ComplexBuffer.normSquared(r)
            let beta = Float(rrNew / rr)
            for i in 0..<p.count { p[i] = r[i] + beta * p[i] }
            rr = rrNew
        }
        return x
    }

    /// FISTA for ½‖Ax − y‖² + λ‖Ψx‖₁ with the wavelet prox (cycle spinning, seeded shifts).
    public static func fistaWavelet(_ a: LinearOperator, data y: [Float], sparsity: WaveletSparsity, lambda: Float, iterations: Int, seed: UInt64 = 0) throws -> [Float] {
        let lipschitz = Float(max(try a.maxEigenvalue(), 1e-6)) * 1.01
        let step = 1 / lipschitz
        var rng = SeededRandom(seed: seed)
        var x = try a.adjoint(y)
        var z = x
        var t: Float = 1
        for _ in 0..<iterations {
            // gradient step at z
            let r = try a.forward(z)
            var res = r
            for i in 0..<res.count { res[i] -= y[i] }
            var g = try a.adjoint(res)
            for i in 0..<g.count { g[i] = z[i] - step * g[i] }
            let shift = (Int(rng.next() % 8), Int(rng.next() % 8))
            let xNew = sparsity.prox(g, threshold: lambda * step, shift: shift)
            let tNew = (1 + (1 + 4 * t * t).squareRoot()) / 2
            let mom = (t - 1) / tNew
            for i in 0..<z.count { z[i] = xNew[i] + mom * (xNew[i] - x[i]) }
            x = xNew
            t = tNew
        }
        return x
    }

    /// Primal–dual (Chambolle–Pock) for ½‖Ax − y‖² + λ TV(x), isotropic TV of a complex [ny, nx]
    /// image with forward differences (periodic-free: zero at the last row/column).
    public static func primalDualTV(_ a: LinearOperator, data y: [Float], ny: Int, nx: Int, lambda: Float, iterations: Int) throws -> [Float] {
        let normA = Float(max(try a.maxEigenvalue(), 1e-6))
        let L = (normA + 8).squareRoot()
        let tau: Float = 0.99 / L, sigma: Float = 0.99 / L
        let n = ny * nx
        var x = try a.adjoint(y)
        var xBar = x
        var p = [Float](repeating: 0, count: y.count)           // dual of the data term
        var q = [Float](repeating: 0, count: 4 * n)             // dual of the gradient: (dx re, dx im, dy re, dy im)
        let d = FiniteDifference2D(ny: ny, nx: nx)
        for _ in 0..<iterations {
            let ax = try a.forward(xBar)
            for i in 0..<p.count { p[i] = (p[i] + sigma * (ax[i] - y[i])) / (1 + sigma) }
            let gx = d.apply(xBar)
            for i in 0..<n {
                var v = (q[4 * i] + sigma * gx[4 * i], q[4 * i + 1] + sigma * gx[4 * i + 1], q[4 * i + 2] + sigma * gx[4 * i + 2], q[4 * i + 3] + sigma * gx[4 * i + 3])
                let mag = (v.0 * v.0 + v.1 * v.1 + v.2 * v.2 + v.3 * v.3).squareRoot()
                if mag > lambda { let s = lambda / mag; v = (v.0 * s, v.1 * s, v.2 * s, v.3 * s) }
                q[4 * i] = v.0; q[4 * i + 1] = v.1; q[4 * i + 2] = v.2; q[4 * i + 3] = v.3
            }
            let atp = try a.adjoint(p), gtq = d.applyAdjoint(q)
            var xNew = x
            for i in 0..<x.count { xNew[i] = x[i] - tau * (atp[i] + gtq[i]) }
            for i in 0..<x.count { xBar[i] = 2 * xNew[i] - x[i] }
            x = xNew
        }
        return x
    }
}

/// Forward differences of a complex [ny, nx] image along x and y (zero at the last column/row):
/// output per pixel the complex pair (∂x, ∂y). The TV regulariser's operator; dot-tested.
public struct FiniteDifference2D: LinearOperator {
    public let ny: Int, nx: Int
    public var inputCount: Int { ny * nx }
    public var outputCount: Int { 2 * ny * nx }

    public init(ny: Int, nx: Int) { self.ny = ny; self.nx = nx }

    public func forward(_ x: [Float]) throws -> [Float] {
        guard x.count == 2 * inputCount else { throw GantryError.invalidArgument("gradient: image needs \(inputCount) complex values") }
        return apply(x)
    }

    public func adjoint(_ y: [Float]) throws -> [Float] {
        guard y.count == 2 * outputCount else { throw GantryError.invalidArgument("gradient adjoint needs \(outputCount) complex values") }
        return applyAdjoint(y)
    }

    func apply(_ v: [Float]) -> [Float] {
        let n = ny * nx
        var g = [Float](repeating: 0, count: 4 * n)
        for yy in 0..<ny { for xx in 0..<nx {
            let i = yy * nx + xx
            if xx + 1 < nx { g[4 * i] = v[2 * (i + 1)] - v[2 * i]; g[4 * i + 1] = v[2 * (i + 1) + 1] - v[2 * i + 1] }
            if yy + 1 < ny { g[4 * i + 2] = v[2 * (i + nx)] - v[2 * i]; g[4 * i + 3] = v[2 * (i + nx) + 1] - v[2 * i + 1] }
        } }
        return g
    }

    /// The adjoint (−divergence).
    func applyAdjoint(_ g: [Float]) -> [Float] {
        let n = ny * nx
        var v = [Float](repeating: 0, count: 2 * n)
        for yy in 0..<ny { for xx in 0..<nx {
            let i = yy * nx + xx
            if xx + 1 < nx {
                v[2 * (i + 1)] += g[4 * i]; v[2 * i] -= g[4 * i]
                v[2 * (i + 1) + 1] += g[4 * i + 1]; v[2 * i + 1] -= g[4 * i + 1]
            }
            if yy + 1 < ny {
                v[2 * (i + nx)] += g[4 * i + 2]; v[2 * i] -= g[4 * i + 2]
                v[2 * (i + nx) + 1] += g[4 * i + 3]; v[2 * i + 1] -= g[4 * i + 3]
            }
        } }
        return v
    }
}
