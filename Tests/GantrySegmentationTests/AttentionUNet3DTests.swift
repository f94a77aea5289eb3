import Foundation
import GantryNN
@testable import GantrySegmentation
import XCTest

/// Parity with MONAI's AttentionUnet on shared weights and batch-norm statistics loaded by
/// state-dict name: eval-mode output and input gradient, training-mode output (batch statistics)
/// and the running statistics after one training step.
final class AttentionUNet3DTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/monai_attention_unet.safetensors").path

    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        let scale = max(1, b.map(abs).max() ?? 1)
        return (zip(a, b).map { abs($0 - $1) }.max() ?? .infinity) / scale
    }

    func loaded() throws -> (AttentionUNet3D, [String: Tensor], [String: Any]) {
        let (t, meta) = try SafeTensors.readWithMetadata(Self.fixture)
        let c = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(meta["config"]).utf8)) as? [String: Any])
        let net = try AttentionUNet3D(.init(dims: try XCTUnwrap(c["spatial_dims"] as? Int), inChannels: try XCTUnwrap(c["in_channels"] as? Int),
                                            outChannels: try XCTUnwrap(c["out_channels"] as? Int), channels: try XCTUnwrap(c["channels"] as? [Int]),
                                            strides: try XCTUnwrap(c["strides"] as? [Int])))
        var state: [String: Tensor] = [:]
        for (name, v) in t where name.hasPrefix("state/") { state[String(name.dropFirst(6))] = v }
        try net.parameters.load(state, path: Self.fixture)
        return (net, t, c)
    }

    func testEvalModeMatchesMONAI() throws {
        let (net, t, c) = try loaded()
        XCTAssertEqual(net.parameters.count, c["parameters"] as? Int, "parameter count as MONAI's")
        let x = try XCTUnwrap(t["input"]), y = try XCTUnwrap(t["output"]), r = try XCTUnwrap(t["r"]), gx = try XCTUnwrap(t["input_grad"])
        x.requiresGrad = true
        let out = try net.forward(x)
        XCTAssertEqual(out.shape, y.shape)
        XCTAssertLessThanOrEqual(relativeError(out.data, y.data), 1e-4, "forward")
        (out * r).sum().backward()
        XCTAssertLessThanOrEqual(relativeError(x.grad ?? [], gx.data), 1e-4, "input gradient")
    }

    func testTrainingModeUsesBatchStatisticsAndUpdatesRunningOnes() throws {
        let (net, t, _) = try loaded()
        let x = try XCTUnwrap(t["train_input"]), y = try XCTUnwrap(t["train_output"])
        let before = net.parameters.buffers.mapValues { $0.data }
        let out = try Tensor.noGrad { try net.forward(x, training: true) }
        XCTAssertLessThanOrEqual(relativeError(out.data, y.data), 1e-4, "training-mode forward")
        var checked = 0
        for (name, buffer) in net.parameters.buffers {
            let expected = try XCTUnwrap(t["after/\(name)"], name)
            XCTAssertLessThanOrEqual(relativeError(buffer.data, expected.data), 1e-4, name)
            XCTAssertNotEqual(buffer.data, before[name], "\(name) was updated")
            checked += 1
        }
        XCTAssertEqual(checked, t.keys.filter { $0.hasPrefix("after/") }.count, "the same batch norms as MONAI's (head 2 + 6 per level)")
        XCTAssertEqual(checked, 2 * (2 + 6 * 2))
    }
}
