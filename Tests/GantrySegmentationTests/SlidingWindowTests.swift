import Foundation
import GantryCore
import GantryNN
@testable import GantrySegmentation
import XCTest

final class SlidingWindowTests: XCTestCase {
    func testWindowedInferenceEqualsWholeImageForALocalModel() throws {
        // A per-voxel model (1×1×1 conv) gives the same answer windowed or whole, for any overlap.
        let w = Tensor(uniform: [3, 2, 1, 1, 1], bound: 1, seed: 1, requiresGrad: false)
        let x = Tensor(uniform: [1, 2, 10, 13, 7], bound: 1, seed: 2, requiresGrad: false)
        let whole = try x.conv(w)
        for overlap in [0.0, 0.25, 0.5] {
            let y = try SlidingWindow(roi: [6, 8, 8], overlap: overlap).run(x, classes: 3) { try $0.conv(w) }
            XCTAssertEqual(y.shape, whole.shape)
            for i in 0..<y.count { XCTAssertEqual(y.data[i], whole.data[i], accuracy: 1e-5) }
        }
    }

    /// MONAI's `sliding_window_inference` (Gaussian mode) of a 3×3×3 convolution — whose answer
    /// depends on where each window lies — on an image smaller than the window along one axis:
    /// the same window positions, importance map (clamped at 1e-3) and padding
    /// (scripts/parity/make_monai_sliding_window_fixture.py).
    func testMatchesMONAISlidingWindow() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/monai_sliding_window.safetensors").path
        let t = try SafeTensors.read(path)
        let (w, b, x) = (try XCTUnwrap(t["weight"]), try XCTUnwrap(t["bias"]), try XCTUnwrap(t["input"]))
        for overlap in [25, 50, 75] {
            let want = try XCTUnwrap(t["output_\(overlap)"])
            let got = try SlidingWindow(roi: [8, 12, 8], overlap: Double(overlap) / 100, batch: 2).run(x, classes: 3) { try $0.conv(w, bias: b, .uniform(padding: 1)) }
            XCTAssertEqual(got.shape, want.shape)
            let err = zip(got.data, want.data).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(err, 1e-4, "overlap \(overlap) %")
        }
    }

    /// Windows batched into one forward pass give the same probabilities as one at a time (the
    /// networks treat samples independently in inference), for U-Net and attention U-Net.
    func testBatchedWindowsEqualOneAtATime() throws {
        let x = Tensor(uniform: [1, 2, 13, 18, 11], bound: 1, seed: 7, requiresGrad: false)
        let nets: [any SegmentationNetwork] = [
            try UNet3D(.init(inChannels: 2, outChannels: 3, channels: [4, 8], strides: [2], numResUnits: 1), seed: 3),
            try AttentionUNet3D(.init(inChannels: 2, outChannels: 3, channels: [4, 8], strides: [2]), seed: 3),
        ]
        for net in nets {
            let one = try SlidingWindow(roi: [8, 8, 8], overlap: 0.5, batch: 1).run(x, classes: 3) { try net.forward($0, training: false).softmaxChannels() }
            let batched = try SlidingWindow(roi: [8, 8, 8], overlap: 0.5, batch: 3).run(x, classes: 3) { try net.forward($0, training: false).softmaxChannels() }
            XCTAssertEqual(one.shape, [1, 3, 13, 18, 11])
            XCTAssertEqual(batched.shape, one.shape)
            let diff = zip(one.data, batched.data).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(diff, 1e-5, "\(type(of: net))")
            // probabilities: every voxel's classes sum to 1
            let inner = 13 * 18 * 11
            for i in stride(from: 0, to: inner, by: 97) { XCTAssertEqual((0..<3).reduce(Float(0)) { $0 + batched.data[$1 * inner + i] }, 1, accuracy: 1e-5) }
        }
    }

    func testZScoreNonZero() {
        let v: [Float] = [0, 1, 2, 3, 0]
        let z = IntensityNormalisation.nonZero(v)
        XCTAssertEqual(z[0], 0); XCTAssertEqual(z[4], 0)
        XCTAssertEqual(z[1] + z[2] + z[3], 0, accuracy: 1e-6)
        XCTAssertEqual(z[3], 1.2247449, accuracy: 1e-5)
    }

    func testCheckpointRoundTripAndMaskGeometry() throws {
        let dir = NSTemporaryDirectory() + "seg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unet = try UNet3D(.init(inChannels: 2, outChannels: 3, channels: [4, 8], strides: [2], numResUnits: 1), seed: 3)
        let attention = try AttentionUNet3D(.init(inChannels: 2, outChannels: 3, channels: [4, 8], strides: [2]), seed: 3)
        // One training-mode pass moves the batch-norm running statistics away from their defaults.
        _ = try Tensor.noGrad { try attention.forward(Tensor(uniform: [2, 2, 8, 8, 8], bound: 1, seed: 5), training: true) }
        var back: SegmentationModel!
        for net in [unet, attention] as [any SegmentationNetwork] {
            let model = SegmentationModel(network: net, contrasts: ["T1w", "FLAIR"], labels: [0, 1, 2], roi: [8, 8, 8])
            try model.save(dir + "/m.safetensors")
            back = try SegmentationModel.load(dir + "/m.safetensors")
            XCTAssertEqual(back.contrasts, ["T1w", "FLAIR"])
            XCTAssertTrue(type(of: back.network) == type(of: net))
            XCTAssertEqual(back.network.checkpointConfig as NSDictionary, net.checkpointConfig as NSDictionary)
            XCTAssertEqual(back.network.parameters.stateDict.count, net.parameters.stateDict.count)
            for (name, t) in net.parameters.stateDict { XCTAssertEqual(back.network.parameters.stateDict[name]?.data, t.data, name) }
        }
        XCTAssertTrue(attention.parameters.buffers.values.contains { $0.data.contains { $0 != 0 && $0 != 1 } })
        let a = Affine(rows: [[0, -1.5, 0, 10], [1.2, 0, 0, -4], [0, 0, 2, 3], [0, 0, 0, 1]])
        let img = try Volume(shape: [9, 10, 11], affine: a, data: (0..<990).map { Float($0 % 17) })
        let mask = try back.segment([img, img])
        XCTAssertEqual(mask.affine, a)
        XCTAssertEqual(mask.shape, [9, 10, 11])
        XCTAssertTrue(Set(mask.data).isSubset(of: [0, 1, 2]))
        XCTAssertThrowsError(try back.segment([img]))

        // Probabilities: a 4D [x, y, z, class] volume on the same grid, summing to 1 per voxel,
        // whose argmax (mapped through the checkpoint's labels) is the mask.
        let relabelled = SegmentationModel(network: back.network, contrasts: back.contrasts, labels: [0, 4, 7], roi: back.roi)
        let prob = try relabelled.probabilities([img, img])
        XCTAssertEqual(prob.shape, [9, 10, 11, 3])
        XCTAssertEqual(prob.affine, a)
        for i in stride(from: 0, to: 990, by: 7) {
            let p = (0..<3).map { prob.data[$0 * 990 + i] }
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-5)
            let best = p.indices.max { p[$0] < p[$1] } ?? 0
            XCTAssertEqual(mask.data[i], Float(best), "voxel \(i)")
        }
        XCTAssertEqual(try relabelled.segment([img, img]).data, mask.data.map { [0, 4, 7][Int($0)] })
    }
}
