import Foundation
import GantryNN
import XCTest

/// Forward outputs and gradients against PyTorch (scripts/parity/make_nn_fixtures.py).
final class ParityTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/parity.safetensors").path

    func close(_ a: [Float], _ b: [Float], _ what: String, tol: Float = 1e-4) {
        XCTAssertEqual(a.count, b.count, what)
        let scale = max(1, b.map(abs).max() ?? 1)
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
        XCTAssertLessThanOrEqual(worst / scale, tol, "\(what): max |Δ| \(worst) (scale \(scale))")
    }

    func testEveryCaseMatchesPyTorch() throws {
        let (t, meta) = try SafeTensors.readWithMetadata(Self.fixture)
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(meta["cases"]).utf8)) as? [String: [String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 44)
        for (name, p) in cases.sorted(by: { $0.key < $1.key }) {
            func get(_ k: String) throws -> Tensor { try XCTUnwrap(t["\(name).\(k)"], "\(name).\(k)") }
            if p["op"] as? String == "optimizer" {
                let param = try get("p0"), target = try get("target")
                param.requiresGrad = true
                let kind: Optimizer.Kind, wd: Double, lr: Double
                switch name {
                case "opt_sgd_momentum": (kind, wd, lr) = (.sgd(momentum: 0.9, nesterov: false), 0.01, 0.01)
                case "opt_sgd_nesterov": (kind, wd, lr) = (.sgd(momentum: 0.9, nesterov: true), 0, 0.01)
                case "opt_adam": (kind, wd, lr) = (.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: false), 0.01, 0.05)
                default: (kind, wd, lr) = (.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: true), 0.1, 0.05)
                }
                let opt = Optimizer([param], kind: kind, learningRate: lr, weightDecay: wd)
                let w = Tensor(shape: [6], data: (1...6).map(Float.init))
                for _ in 0..<5 {
                    opt.zeroGrad()
                    let d = param - target
                    let loss = (d * d * w).sum() + (param * param * param).sum().scaled(0.1)
                    loss.backward()
                    opt.update()
                }
                close(param.data, try get("p5").data, "\(name) parameters after 5 steps", tol: 1e-5)
                continue
            }
            let x = try get("x"), r = try get("r")
            x.requiresGrad = true
            var w: Tensor? = nil, b: Tensor? = nil
            let y: Tensor
            switch p["op"] as? String {
            case "conv":
                w = try get("w"); b = try get("b")
                w?.requiresGrad = true; b?.requiresGrad = true
                let dims = p["dims"] as? Int ?? 3
                y = try x.conv(try XCTUnwrap(w), bias: b, .uniform(stride: p["stride"] as? Int ?? 1, padding: p["padding"] as? Int ?? 0,
                                                                 dilation: p["dilation"] as? Int ?? 1, groups: p["groups"] as? Int ?? 1, dims: dims))
            case "group_norm", "instance_norm":
                w = try get("w"); b = try get("b")
                w?.requiresGrad = true; b?.requiresGrad = true
                y = p["op"] as? String == "group_norm" ? try x.groupNorm(groups: p["groups"] as? Int ?? 1, weight: w, bias: b) : try x.instanceNorm(weight: w, bias: b)
            case "batch_norm":
                w = try get("w"); b = try get("b")
                w?.requiresGrad = true; b?.requiresGrad = true
                var rm = try get("rm0").data, rv = try get("rv0").data
                let training = p["training"] as? Bool ?? false
                y = try x.batchNorm(runningMean: &rm, runningVar: &rv, weight: w, bias: b, training: training, momentum: 0.1)
                if training {
                    close(rm, try get("rm1").data, "\(name) running mean", tol: 1e-5)
                    close(rv, try get("rv1").data, "\(name) running var", tol: 1e-5)
                }
            case "conv_transpose":
                w = try get("w"); b = try get("b")
                w?.requiresGrad = true; b?.requiresGrad = true
                let dims = p["dims"] as? Int ?? 3, opad = p["output_padding"] as? Int ?? 0
                y = try x.convTranspose(try XCTUnwrap(w), bias: b, .uniform(stride: p["stride"] as? Int ?? 1, padding: p["padding"] as? Int ?? 0,
                                                                          dilation: p["dilation"] as? Int ?? 1, groups: p["groups"] as? Int ?? 1, dims: dims),
                                        outputPadding: Array(repeating: opad, count: dims))
            case "prelu":
                w = try get("w")
                w?.requiresGrad = true
                y = try x.prelu(try XCTUnwrap(w))
            case "broadcast":
                w = try get("w")
                w?.requiresGrad = true
                let other = try XCTUnwrap(w)
                switch p["fn"] as? String {
                case "add": y = try x.adding(other)
                case "mul": y = try x.multiplying(other)
                default: y = try x.dividing(other)
                }
            case "slice": y = try x.slice([nil, 1..<4, 2..<6, 0..<5])
            case "pad": y = try x.pad(before: [2, 0, 1], after: [0, 1, 2])
            case "upsample_linear": y = x.upsampleLinear(p["f"] as? Int ?? 2)
            case "l1": y = try x.l1(try get("target"))
            case "ssim_loss": y = try x.ssimLoss(try get("target"), dataRange: Float(p["range"] as? Double ?? 1))
            case "max_pool": y = try x.maxPool(p["k"] as? Int ?? 2)
            case "avg_pool": y = try x.avgPool(p["k"] as? Int ?? 2)
            case "upsample_nearest": y = x.upsampleNearest(p["f"] as? Int ?? 2)
            case "softmax": y = x.softmaxChannels()
            case "log_softmax": y = x.logSoftmaxChannels()
            case "cross_entropy": y = try x.crossEntropy(labels: try get("labels"))
            case "dice_loss": y = try x.softDiceLoss(labels: try get("labels"), includeBackground: p["background"] as? Bool ?? true)
            case "relu": y = x.relu()
            case "sigmoid": y = x.sigmoid()
            case "tanh": y = x.tanh()
            case "leaky_relu": y = x.leakyReLU(Float(p["slope"] as? Double ?? 0.01))
            default: XCTFail("unknown case \(name)"); continue
            }
            close(y.data, try get("y").data, "\(name) forward")
            (y * r).sum().backward()
            close(x.grad ?? [], try get("gx").data, "\(name) dx")
            if let w { close(w.grad ?? [], try get("gw").data, "\(name) dw") }
            if let b { close(b.grad ?? [], try get("gb").data, "\(name) db") }
        }
    }

    func testSafeTensorsRoundTripAndBadInput() throws {
        let dir = NSTemporaryDirectory() + "st-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = Tensor(uniform: [2, 3, 4], bound: 1, seed: 1), b = Tensor(uniform: [5], bound: 2, seed: 2)
        try SafeTensors.write(["layer.weight": a, "layer.bias": b], to: dir + "/m.safetensors", metadata: ["format": "pt"])
        let (back, meta) = try SafeTensors.readWithMetadata(dir + "/m.safetensors")
        XCTAssertEqual(back["layer.weight"]?.data, a.data)
        XCTAssertEqual(back["layer.weight"]?.shape, [2, 3, 4])
        XCTAssertEqual(back["layer.bias"]?.data, b.data)
        XCTAssertEqual(meta["format"], "pt")
        _ = FileManager.default.createFile(atPath: dir + "/bad.safetensors", contents: Data([1, 2, 3]))
        XCTAssertThrowsError(try SafeTensors.read(dir + "/bad.safetensors"))
        _ = FileManager.default.createFile(atPath: dir + "/bad2.safetensors", contents: Data([255, 255, 0, 0, 0, 0, 0, 0, 123]))
        XCTAssertThrowsError(try SafeTensors.read(dir + "/bad2.safetensors"))
    }
}
