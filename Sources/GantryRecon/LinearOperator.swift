import GantryCore

/// A linear operator between complex vectors (interleaved Float buffers), in the BART linop spirit:
/// it knows its sizes and has a forward and an adjoint; the normal operator AᴴA defaults to their
/// composition, and operators chain (`A * B`, as SigPy's `A = F * S`). Every operator is checked
/// with the dot test ⟨Ax, y⟩ = ⟨x, Aᴴy⟩.
public protocol LinearOperator: Sendable {
    /// Complex elements of the domain and range.
    var inputCount: Int { get }
    var outputCount: Int { get }
    func forward(_ x: [Float]) throws -> [Float]
    func adjoint(_ y: [Float]) throws -> [Float]
    func normal(_ x: [Float]) throws -> [Float]
    /// Aᴴ(Ax − y), the gradient of ½‖Ax − y‖² (operators may fuse the two passes).
    func residualGradient(_ x: [Float], measured y: [Float]) throws -> [Float]
    /// `forward` on a buffer the caller owns — in place when the operator keeps the size (FFT,
    /// sampling), so a chain allocates only where sizes change.
    func forward(inPlace x: inout [Float]) throws
    func adjoint(inPlace y: inout [Float]) throws
    /// A bound on ‖A‖² when one is known analytically (step sizes); nil: power iteration.
    var normSquaredBound: Double? { get }
}

extension LinearOperator {
    public func normal(_ x: [Float]) throws -> [Float] { try adjoint(forward(x)) }
    public func residualGradient(_ x: [Float], measured y: [Float]) throws -> [Float] {
        guard y.count == 2 * outputCount else { throw GantryError.invalidArgument("residual: data need \(outputCount) complex values") }
        var r = try forward(x)
        for i in 0..<r.count { r[i] -= y[i] }
        return try adjoint(r)
    }
    public func forward(inPlace x: inout [Float]) throws { x = try forward(x) }
    public func adjoint(inPlace y: inout [Float]) throws { y = try adjoint(y) }
    public var normSquaredBound: Double? { nil }

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

    /// ‖A‖²: the analytic bound when the operator has one, else by power iteration.
    public func normSquared() throws -> Double { try normSquaredBound ?? maxEigenvalue() }
}

/// A ∘ B ∘ …: the forward applies the last operator first; the adjoint runs the chain backwards.
/// The first operator applied allocates the result, the others work in place where they can.
public struct ComposedOperator: LinearOperator {
    /// In order of application (innermost first).
    public let operators: [any LinearOperator]

    public init(applying operators: [any LinearOperator]) throws {
        guard let first = operators.first else { throw GantryError.invalidArgument("a composed operator needs at least one operator") }
        var size = first.inputCount
        for op in operators {
            guard op.inputCount == size else {
                throw GantryError.invalidArgument("operators do not chain: \(op.inputCount) inputs after an output of \(size)")
            }
            size = op.outputCount
        }
        self.operators = operators
    }

    public var inputCount: Int { operators[0].inputCount }
    public var outputCount: Int { operators[operators.count - 1].outputCount }

    public func forward(_ x: [Float]) throws -> [Float] {
        var v = try operators[0].forward(x)
        for op in operators.dropFirst() { try op.forward(inPlace: &v) }
        return v
    }

    public func adjoint(_ y: [Float]) throws -> [Float] {
        var v = try operators[operators.count - 1].adjoint(y)
        for op in operators.dropLast().reversed() { try op.adjoint(inPlace: &v) }
        return v
    }
}

/// A * B: B first, then A.
public func * (lhs: any LinearOperator, rhs: any LinearOperator) throws -> ComposedOperator {
    let inner = (rhs as? ComposedOperator)?.operators ?? [rhs], outer = (lhs as? ComposedOperator)?.operators ?? [lhs]
    return try ComposedOperator(applying: inner + outer)
}
