import GantryCore

/// A linear operator between complex vectors (interleaved Float buffers), in the BART linop spirit:
/// it knows its sizes and has a forward and an adjoint; the normal operator AᴴA defaults to their
/// composition. Every operator is checked with the dot test ⟨Ax, y⟩ = ⟨x, Aᴴy⟩.
public protocol LinearOperator {
    /// Complex elements of the domain and range.
    var inputCount: Int { get }
    var outputCount: Int { get }
    func forward(_ x: [Float]) throws -> [Float]
    func adjoint(_ y: [Float]) throws -> [Float]
    func normal(_ x: [Float]) throws -> [Float]
}

extension LinearOperator {
    public func normal(_ x: [Float]) throws -> [Float] { try adjoint(forward(x)) }

    /// |⟨Ax, y⟩ − ⟨x, Aᴴy⟩| / (‖Ax‖‖y‖) on random x, y: ~1e-7 for a correct adjoint in Float.
    public func dotTest(seed: UInt64 = 1) throws -> Double {
        let x = ComplexBuffer.random(inputCount, seed: seed), y = ComplexBuffer.random(outputCount, seed: seed + 1)
        let ax = try forward(x), aty = try adjoint(y)
        let l = ComplexBuffer.dot(ax, y), r = ComplexBuffer.dot(x, aty)
        let scale = (ComplexBuffer.normSquared(ax) * ComplexBuffer.normSquared(y)).squareRoot()
        return ((l.re - r.re) * (l.re - r.re) + (l.im - r.im) * (l.im - r.im)).squareRoot() / max(scale, 1e-30)
    }

    /// Largest eigenvalue of AᴴA by power iteration (the Lipschitz constant for gradient steps).
    public func maxEigenvalue(iterations: Int = 30, seed: UInt64 = 7) throws -> Double {
        var x = ComplexBuffer.random(inputCount, seed: seed)
        var lambda = 0.0
        for _ in 0..<iterations {
            let n = ComplexBuffer.normSquared(x).squareRoot()
            guard n > 0 else { return 0 }
            x = x.map { $0 / Float(n) }
            let y = try normal(x)
            lambda = ComplexBuffer.dot(x, y).re
            x = y
        }
        return lambda
    }
}
