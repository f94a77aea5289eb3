import Foundation
import GantryNN
@testable import GantrySegmentation
import XCTest

/// Forward (and input-gradient) parity with MONAI's UNet on shared weights loaded by state-dict name.
final class UNet3DTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/monai_unet.safetensors").path

    func testMatchesMONAIUNet() throws {
        let (t, meta) = try SafeTensors.readWithMetadata(Self.fixture)
        let configs = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(meta["configs"]).utf8)) as? [String: [String: Any]])
        XCTAssertEqual(configs.count, 2)
        for (key, c) in configs.sorted(by: { $0.key < $1.key }) {
            let cfg = UNet3D.Config(dims: c["spatial_dims"] as! Int, inChannels: c["in_channels"] as! Int, outChannels: c["out_channels"] as! Int,
                                    channels: c["channels"] as! [Int], strides: c["strides"] as! [Int], numResUnits: c["num_res_units"] as! Int)
            let net = try UNet3D(cfg)
            XCTAssertEqual(net.parameters.count, c["parameters"] as? Int, "\(key): parameter count as MONAI's")
            XCTAssertTrue(net.parameters.isSealed, "every parameter created at construction")
            var state: [String: Tensor] = [:]
            for (name, v) in t where name.hasPrefix(key + "/") { state[String(name.dropFirst(key.count + 1))] = v }
            let x = try XCTUnwrap(state.removeValue(forKey: "input")), y = try XCTUnwrap(state.removeValue(forKey: "output"))
            let r = try XCTUnwrap(state.removeValue(forKey: "r")), gx = try XCTUnwrap(state.removeValue(forKey: "input_grad"))
            try net.parameters.load(state, path: key)
            x.requiresGrad = true
            let out = try net.forward(x)
            XCTAssertEqual(out.shape, y.shape, key)
            let scale = max(1, y.data.map(abs).max() ?? 1)
            let err = zip(out.data, y.data).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(err / scale, 1e-4, "\(key): forward max |Δ| \(err)")
            (out * r).sum().backward()
            let gscale = max(1, gx.data.map(abs).max() ?? 1)
            let gerr = zip(x.grad ?? [], gx.data).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThanOrEqual(gerr / gscale, 1e-4, "\(key): input gradient max |Δ| \(gerr)")
        }
    }

    func testLoadingRejectsWrongCheckpoints() throws {
        let net = try UNet3D(.init(inChannels: 1, outChannels: 2, channels: [4, 8], strides: [2], numResUnits: 1))
        var state = Dictionary(uniqueKeysWithValues: net.parameters.tensors.map { ($0.key, Tensor(shape: $0.value.shape, data: $0.value.data)) })
        let name = try XCTUnwrap(state.keys.sorted().first)
        state[name] = Tensor(zeros: [7])
        XCTAssertThrowsError(try net.parameters.load(state)) { e in XCTAssertTrue("\(e)".contains(name)) }
        state.removeValue(forKey: name)
        XCTAssertThrowsError(try net.parameters.load(state)) { e in XCTAssertTrue("\(e)".contains("missing")) }
    }
}
