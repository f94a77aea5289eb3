import GantryCore
@testable import GantryNN
import XCTest

/// `normalizedInPlace` (norm and activation in one pass, inference) against the two ops composed,
/// which the parity tests check against PyTorch.
final class FusedNormalizationTests: XCTestCase {
    func testMatchesTheComposedOps() throws {
        // values far from zero mean (offset 3) so the statistics matter; two samples
        let shape = [2, 6, 5, 4, 7]
        let x = Tensor(shape: shape, data: Tensor(uniform: shape, bound: 1, seed: 1).data.map { $0 + 3 })
        let gamma = Tensor(uniform: [6], bound: 1, seed: 2, requiresGrad: false), beta = Tensor(uniform: [6], bound: 1, seed: 3, requiresGrad: false)
        let slope = Tensor(shape: [1], data: [0.25]), slopes = Tensor(uniform: [6], bound: 0.5, seed: 4, requiresGrad: false)
        let mean = (0..<6).map { Float($0) * 0.3 + 2.5 }, variance = (0..<6).map { 0.5 + Float($0) * 0.2 }
        let cases: [(String, FusedNorm, FusedActivation?, (Tensor) throws -> Tensor)] = [
            ("instance norm + PReLU (MONAI UNet)", .group(groups: 6, weight: nil, bias: nil, eps: 1e-5), .prelu(slope),
             { try $0.instanceNorm().prelu(slope) }),
            ("group norm, 2 groups, affine + per-channel PReLU", .group(groups: 2, weight: gamma, bias: beta, eps: 1e-5), .prelu(slopes),
             { try $0.groupNorm(groups: 2, weight: gamma, bias: beta).prelu(slopes) }),
            ("batch norm (evaluation) + ReLU (MONAI AttentionUnet)", .batchEvaluation(runningMean: mean, runningVar: variance, weight: gamma, bias: beta, eps: 1e-5), .relu,
             { var m = mean, v = variance; return try $0.batchNorm(runningMean: &m, runningVar: &v, weight: gamma, bias: beta, training: false).relu() }),
            ("group norm alone", .group(groups: 3, weight: nil, bias: beta, eps: 1e-3), nil, { try $0.groupNorm(groups: 3, bias: beta, eps: 1e-3) }),
        ]
        for (name, norm, activation, composed) in cases {
            let expected = try composed(x)
            let input = Tensor(shape: shape, data: x.data)
            let fused = try input.normalizedInPlace(norm, activation: activation)
            XCTAssertTrue(fused === input, "\(name): the receiver's storage is reused")
            print("fused norm \(name): relative error \(relativeError(fused.data, expected.data))")
            XCTAssertLessThan(relativeError(fused.data, expected.data), 1e-5, name)
            XCTAssertEqual(x.data.count, expected.data.count)
        }
    }

    /// When a backward pass will run it is the composed ops: same values, gradients reach the input and the slope.
    func testRecordsTheComposedOpsForBackward() throws {
        let x = Tensor(uniform: [1, 4, 3, 5, 6], bound: 1, seed: 5, requiresGrad: true)
        let slope = Tensor(shape: [1], data: [0.2], requiresGrad: true)
        let y = try x.normalizedInPlace(.group(groups: 4, weight: nil, bias: nil, eps: 1e-5), activation: .prelu(slope))
        XCTAssertFalse(y === x)
        let expected = try x.detached().instanceNorm().prelu(slope.detached())
        XCTAssertLessThan(relativeError(y.data, expected.data), 1e-6)
        y.sum().backward()
        XCTAssertEqual(x.grad?.count, x.count)
        XCTAssertNotEqual(slope.grad?.first ?? 0, 0)
    }
}
