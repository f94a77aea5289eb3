import GantryCore
import GantryNN

/// The acquisitions of a batch of slices, one SENSE operator (coil maps + mask) and one measured,
/// masked k-space [coils, ny, nx] per sample — what a recurrent inference machine's data term needs.
public struct SenseBatch {
    public let operators: [SenseOperator]
    public let kspace: [[Float]]
    public var count: Int { operators.count }
    public var ny: Int { operators.first?.ny ?? 0 }
    public var nx: Int { operators.first?.nx ?? 0 }

    public init(operators: [SenseOperator], kspace: [[Float]]) throws {
        guard !operators.isEmpty, operators.count == kspace.count else { throw GantryError.invalidArgument("a SENSE batch needs one k-space per operator") }
        for (op, k) in zip(operators, kspace) {
            guard op.ny == operators[0].ny, op.nx == operators[0].nx else { throw GantryError.invalidArgument("all slices of a batch must have one size") }
            guard k.count == 2 * op.outputCount else { throw GantryError.invalidArgument("k-space has \(k.count / 2) values, the operator needs \(op.outputCount)") }
        }
        self.operators = operators; self.kspace = kspace
    }

    /// The SENSE combination of the measured data, Σ_c conj(S_c)·F⁻¹(y_c), as [N, 2, H, W] — the
    /// initial estimate of a RIM (atommic's coil_combination_method "SENSE" of the zero-filled data).
    public func senseCombination() throws -> Tensor {
        try Tensor.fromComplex(zip(operators, kspace).flatMap { op, k in try op.adjoint(k) }, n: count, h: ny, w: nx)
    }

    /// Σ_c |S_c|² per pixel, on both channels: [N, 2, H, W] (1 inside the field of view for
    /// normalised maps).
    public func coilPower() throws -> Tensor {
        var out = [Float]()
        let plane = ny * nx
        for op in operators {
            var p = [Float](repeating: 0, count: plane)
            for c in 0..<op.coils { for i in 0..<plane { let (a, b) = (op.maps[2 * (c * plane + i)], op.maps[2 * (c * plane + i) + 1]); p[i] += a * a + b * b } }
            out += p + p
        }
        return Tensor(shape: [count, 2, ny, nx], data: out)
    }
}

extension Tensor {
    /// The gradient of the data log-likelihood at this estimate x ([N, 2, H, W]):
    /// g = Σ_c conj(S_c)·F⁻¹(M ⊙ (F(S_c x) − y_c)) = Aᴴ(Ax − y), the RIM's implicit data consistency
    /// (atommic's `log_likelihood_gradient` with σ = 1; atommic clamps σ to ≥ 1 and passes 1).
    /// x ↦ g is affine with the self-adjoint linear part AᴴA, so the backward pass applies AᴴA to
    /// the incoming gradient.
    public func logLikelihoodGradient(_ batch: SenseBatch) throws -> Tensor {
        guard shape == [batch.count, 2, batch.ny, batch.nx] else {
            throw GantryError.invalidArgument("estimate \(shape) does not match the acquisitions [\(batch.count), 2, \(batch.ny), \(batch.nx)]")
        }
        let plane = batch.ny * batch.nx
        func sample(_ v: [Float], _ b: Int) -> [Float] {
            var out = [Float](repeating: 0, count: 2 * plane)
            for p in 0..<plane { out[2 * p] = v[2 * b * plane + p]; out[2 * p + 1] = v[(2 * b + 1) * plane + p] }
            return out
        }
        func store(_ z: [Float], _ b: Int, into v: inout [Float]) {
            for p in 0..<plane { v[2 * b * plane + p] = z[2 * p]; v[(2 * b + 1) * plane + p] = z[2 * p + 1] }
        }
        var g = [Float](repeating: 0, count: count)
        for (b, op) in batch.operators.enumerated() {
            store(try op.residualGradient(sample(data, b), measured: batch.kspace[b]), b, into: &g)
        }
        return Tensor.result(shape: shape, data: g, parents: [self]) { gy in
            var gx = [Float](repeating: 0, count: gy.count)
            for (b, op) in batch.operators.enumerated() {
                guard let n = try? op.normal(sample(gy, b)) else { return }
                store(n, b, into: &gx)
            }
            self.accumulate(gx)
        }
    }
}
