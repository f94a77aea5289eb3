import XCTest
import GantryCore
import GantryNN
@testable import GantrySegmentation

/// The reversible mobile-inverted-bottleneck U-Net: exact inverse, gradients equal to the same
/// weights run with every activation kept, and no activations kept inside reversible stages.
final class RevMBUNet3DTests: XCTestCase {
    func testCouplingInverseReconstructsTheInput() throws {
        let p = ParameterStore(seed: 3)
        let stage = ReversibleMBStage(prefix: "s", channels: 8, depth: 3, expansion: 4, dims: 3)
        let x = Tensor(uniform: [1, 8, 6, 5, 4], bound: 2, seed: 1, requiresGrad: false)
        let cs = stage.couplings(p)
        let y = try Tensor.noGrad { try cs.reduce(x) { try $1.forward($0) } }
        let back = try Tensor.noGrad { try cs.reversed().reduce(y) { try $1.inverse($0) } }
        XCTAssertGreaterThan(zip(y.data, x.data).map { abs($0 - $1) }.max()!, 0.1, "the stage does something")
        XCTAssertLessThan(zip(back.data, x.data).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testReversibleGradientsEqualStoredActivationGradients() throws {
        let net = try RevMBUNet3D(.init(inChannels: 2, outChannels: 3, channels: [4, 8, 16], strides: [2, 2], blocks: 2, expansion: 2), seed: 4)
        let x = Tensor(uniform: [1, 2, 16, 12, 8], bound: 1, seed: 2)
        let r = Tensor(uniform: [1, 3, 16, 12, 8], bound: 1, seed: 3, requiresGrad: false)
        func grads(reversible: Bool) throws -> (out: [Float], input: [Float], params: [String: [Float]]) {
            net.reversible = reversible
            for t in net.parameters.all { t.zeroGrad() }
            x.zeroGrad()
            let y = try net.forward(x, training: true)
            (y * r).sum().backward()
            return (y.data, x.grad ?? [], net.parameters.tensors.mapValues { $0.grad ?? [] })
        }
        let plain = try grads(reversible: false), rev = try grads(reversible: true)
        XCTAssertEqual(plain.out, rev.out, "the forward pass is the same computation")
        func relErr(_ a: [Float], _ b: [Float]) -> Float {
            let scale = max(b.map(abs).max() ?? 0, 1e-3)
            return zip(a, b).map { abs($0 - $1) }.max()! / scale
        }
        print("reversible vs kept: input gradient relative error \(relErr(rev.input, plain.input))")
        XCTAssertLessThan(relErr(rev.input, plain.input), 1e-4)
        XCTAssertEqual(Set(plain.params.keys), Set(rev.params.keys))
        // Relative to the largest gradient of the network: conv biases in front of instance norm
        // have a true gradient of exactly 0 and hold only rounding noise in both runs.
        let scale = plain.params.values.flatMap { $0.map(abs) }.max()!
        for (name, g) in plain.params {
            XCTAssertEqual(g.count, net.parameters.tensors[name]!.count, name)
            XCTAssertLessThan(zip(rev.params[name]!, g).map { abs($0 - $1) }.max()! / scale, 1e-4, name)
        }
    }

    func testReversibleStagesKeepOnlyTheirInput() throws {
        let p = ParameterStore(seed: 1)
        let stage = ReversibleMBStage(prefix: "s", channels: 4, depth: 2, expansion: 2, dims: 3)
        let x = Tensor(uniform: [1, 4, 4, 4, 4], bound: 1, seed: 1)
        let y = try stage(x, p, reversible: true)
        XCTAssertEqual(y.parentsForTesting.count, 1)
        XCTAssertTrue(y.parentsForTesting[0] === x, "the graph goes straight from the stage output to its input")
        let kept = try stage(x, p, reversible: false)
        XCTAssertFalse(kept.parentsForTesting.contains { $0 === x }, "without reversibility the last coupling's activations are kept")
    }

    func testCheckpointConfigurationRoundTrips() throws {
        let net = try RevMBUNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16], strides: [2], blocks: 1, expansion: 3), seed: 1)
        let again = try SegmentationArchitecture.revMBUNet.make(config: net.checkpointConfig)
        XCTAssertEqual((again as? RevMBUNet3D)?.config, net.config)
        XCTAssertEqual(Set(again.parameters.tensors.keys), Set(net.parameters.tensors.keys))
        XCTAssertNotNil(net.parameters.tensors["encoder.1.0.g.depthwise.conv.weight"])
        XCTAssertEqual(net.parameters.tensors["encoder.1.0.g.depthwise.conv.weight"]?.shape, [24, 1, 3, 3, 3], "depthwise on C/2 · expansion channels")
    }
}
