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

    /// FISTA for ½‖Ax − y‖² + g(x), g given by its proximal map (`regulariser`, e.g. λ‖Ψx‖₁ as
    /// `WaveletThreshold`): gradient steps of 1/L on the data term, L = 1.01·‖A‖², then the prox.
    public static func fista(_ a: LinearOperator, data y: [Float], regulariser: inout some ProximalOperator, iterations: Int) throws -> [Float] {
        let lipschitz = Float(max(try a.maxEigenvalue(), 1e-6)) * 1.01
        let step = 1 / lipschitz
        var x = try a.adjoint(y)
        var z = x
        var t: Float = 1
        for _ in 0..<iterations {
            // gradient step at z
            var g = try a.residualGradient(z, measured: y)
            for i in 0..<g.count { g[i] = z[i] - step * g[i] }
            let xNew = regulariser.prox(g, step: step)
            let tNew = (1 + (1 + 4 * t * t).squareRoot()) / 2
            let mom = (t - 1) / tNew
            for i in 0..<z.count { z[i] = xNew[i] + mom * (xNew[i] - x[i]) }
            x = xNew
            t = tNew
        }
        return x
    }

    /// Primal–dual (Chambolle–Pock) for ½‖Ax − y‖² + g(Kx): an analysis regulariser, K a linear
    /// operator (the image gradient for TV) and g given by the proximal map of its convex
    /// conjugate (`dual`; for λ·‖·‖₁ a projection onto the λ-ball). Steps τ = σ = 0.99/L with
    /// L² = ‖A‖² + ‖K‖².
    public static func primalDual(_ a: LinearOperator, data y: [Float], analysis k: LinearOperator, dual: inout some ProximalOperator,
                                  iterations: Int) throws -> [Float] {
        let normA = Float(max(try a.maxEigenvalue(), 1e-6))
        let L = (normA + Float(try k.normSquared())).squareRoot()
        let tau: Float = 0.99 / L, sigma: Float = 0.99 / L
        var x = try a.adjoint(y)
        var xBar = x
        var p = [Float](repeating: 0, count: y.count)                      // dual of the data term
        var q = [Float](repeating: 0, count: 2 * k.outputCount)            // dual of the regulariser
        for _ in 0..<iterations {
            let ax = try a.forward(xBar)
            for i in 0..<p.count { p[i] = (p[i] + sigma * (ax[i] - y[i])) / (1 + sigma) }
            let kx = try k.forward(xBar)
            for i in 0..<q.count { q[i] = q[i] + sigma * kx[i] }
            q = dual.prox(q, step: sigma)
            let atp = try a.adjoint(p), ktq = try k.adjoint(q)
            var xNew = x
            for i in 0..<x.count { xNew[i] = x[i] - tau * (atp[i] + ktq[i]) }
            for i in 0..<x.count { xBar[i] = 2 * xNew[i] - x[i] }
            x = xNew
        }
        return x
    }
}

/// A regulariser as the CS solvers take it: its proximal map prox_{t·g}(v) = argmin_x t·g(x) + ½‖x − v‖².
/// Mutating, so a prox may carry state between iterations (cycle spinning's random shifts).
public protocol ProximalOperator {
    mutating func prox(_ v: [Float], step: Float) -> [Float]
}

/// λ‖Ψx‖₁ on Daubechies-4 wavelets: complex soft thresholding at λ·t with cycle spinning (a random
/// shift of the image per call, seeded, so the blocky artefacts of a fixed decimated transform
/// average out).
public struct WaveletThreshold: ProximalOperator {
    public let sparsity: WaveletSparsity
    public let lambda: Float
    var random: SeededRandom

    public init(_ sparsity: WaveletSparsity, lambda: Float, seed: UInt64 = 0) {
        self.sparsity = sparsity; self.lambda = lambda; random = SeededRandom(seed: seed)
    }

    public mutating func prox(_ v: [Float], step: Float) -> [Float] {
        let shift = (Int(random.next() % 8), Int(random.next() % 8))
        return sparsity.prox(v, threshold: lambda * step, shift: shift)
    }
}

/// The proximal map of the conjugate of λ·Σ‖u_i‖₂ over groups of `groupSize` reals (isotropic TV
/// on a complex gradient: 4 values per pixel): the projection of each group onto the ball of radius
/// λ, whatever the step.
public struct GroupBallProjection: ProximalOperator {
    public let radius: Float
    public let groupSize: Int

    public init(radius: Float, groupSize: Int) { self.radius = radius; self.groupSize = groupSize }

    public mutating func prox(_ v: [Float], step: Float) -> [Float] {
        var out = v
        let g = groupSize, lambda = radius
        for start in stride(from: 0, to: v.count, by: g) {
            var sq: Float = 0
            for j in 0..<g { sq += v[start + j] * v[start + j] }
            let mag = sq.squareRoot()
            if mag > lambda { let s = lambda / mag; for j in 0..<g { out[start + j] = v[start + j] * s } }
        }
        return out
    }
}

/// Forward differences of a complex [ny, nx] image along x and y (zero at the last column/row):
/// output per pixel the complex pair (∂x, ∂y). The TV regulariser's operator; dot-tested.
public struct FiniteDifference2D: LinearOperator {
    public let ny: Int, nx: Int
    public var inputCount: Int { ny * nx }
    public var outputCount: Int { 2 * ny * nx }

    /// ‖∇‖² ≤ 8 for forward differences on a 2D grid.
    public var normSquaredBound: Double? { 8 }

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
