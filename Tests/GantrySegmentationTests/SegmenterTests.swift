import Foundation
import GantryCore
import GantryNN
@testable import GantrySegmentation
import XCTest

/// What a checkpoint says about preprocessing and clean-up, and the two normalisation rules.
final class SegmenterTests: XCTestCase {
    /// A bright cube in a 20³ field: background exactly 0, or noise around 5 % of the object.
    func image(noisyBackground: Bool) -> [Float] {
        var g = SeededRandom(seed: 3)
        return (0..<8000).map { i in
            let (x, y, z) = (i % 20, (i / 20) % 20, i / 400)
            let inside = (5..<15).contains(x) && (5..<15).contains(y) && (5..<15).contains(z)
            return inside ? Float(100 + 10 * g.normal()) : (noisyBackground ? Float(abs(5 * g.normal())) : 0)
        }
    }

    func testForegroundIsTheObjectWhateverTheBackground() {
        let noisy = image(noisyBackground: true), clean = image(noisyBackground: false)
        let fg = IntensityNormalisation.foreground.foregroundMask(noisy)
        XCTAssertEqual(fg.filter { $0 }.count, 1000, "the Otsu threshold separates the cube from the noise")
        XCTAssertEqual(IntensityNormalisation.nonZero.foregroundMask(noisy).filter { $0 }.count, 8000, "nnU-Net's rule takes the air in")
        // with a zero background both rules agree, and so do the z-scores of the object
        XCTAssertEqual(IntensityNormalisation.foreground(clean), IntensityNormalisation.nonZero(clean))
        let a = IntensityNormalisation.foreground(noisy), b = IntensityNormalisation.nonZero(clean)
        let inside = (0..<8000).filter { fg[$0] }
        let meanA = inside.map { Double(a[$0]) }.reduce(0, +) / 1000, meanB = inside.map { Double(b[$0]) }.reduce(0, +) / 1000
        XCTAssertEqual(meanA, 0, accuracy: 1e-4)
        XCTAssertEqual(meanB, 0, accuracy: 1e-4)
        XCTAssertEqual(a.enumerated().filter { !fg[$0.offset] }.map(\.element).max(), 0, "background becomes 0")
    }

    func testCheckpointRecordsNormalisationAndCleanUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try UNet3D(.init(inChannels: 1, outChannels: 2, channels: [4, 8], strides: [2], numResUnits: 1))
        var model = SegmentationModel(network: net, contrasts: ["T1w"], labels: [0, 1], roi: [16, 16, 16], normalisation: .foreground, minimumComponentMM3: 500)
        try model.save(dir + "/m.safetensors")
        let loaded = try SegmentationModel.load(dir + "/m.safetensors")
        XCTAssertEqual(loaded.normalisation, .foreground)
        XCTAssertEqual(loaded.minimumComponentMM3, 500)
        // a checkpoint that says neither is read as the first shipped models were trained
        model.minimumComponentMM3 = nil
        try model.save(dir + "/old.safetensors")
        var (tensors, meta) = try SafeTensors.readWithMetadata(dir + "/old.safetensors")
        meta["normalisation"] = nil
        try SafeTensors.write(tensors, to: dir + "/old.safetensors", metadata: meta)
        let old = try SegmentationModel.load(dir + "/old.safetensors")
        XCTAssertEqual(old.normalisation, .nonZero)
        XCTAssertNil(old.minimumComponentMM3)
        meta["normalisation"] = "percentile"
        try SafeTensors.write(tensors, to: dir + "/bad.safetensors", metadata: meta)
        XCTAssertThrowsError(try SegmentationModel.load(dir + "/bad.safetensors")) { XCTAssertTrue("\($0)".contains("normalisation 'percentile'"), "\($0)") }
    }

    func testTheSameImageForSeveralContrastsIsNamed() throws {
        let net = try UNet3D(.init(inChannels: 4, outChannels: 2, channels: [4, 8], strides: [2], numResUnits: 1))
        let model = SegmentationModel(network: net, contrasts: ["T1w", "ce-gd_T1w", "T2w", "FLAIR"], labels: [0, 1], roi: [16, 16, 16])
        let a = try Volume(shape: [4, 4, 4], affine: .identity, data: (0..<64).map(Float.init))
        let b = try Volume(shape: [4, 4, 4], affine: .identity, data: (0..<64).map { Float($0 % 7) })
        XCTAssertNil(model.duplicateContrastWarning(try model.prepare([a, b, try Volume(shape: [4, 4, 4], affine: .identity, data: b.data.map { $0 + 1 }), try Volume(shape: [4, 4, 4], affine: .identity, data: a.data.map { $0 * 2 })])))
        let w = try XCTUnwrap(model.duplicateContrastWarning(try model.prepare([a, a, b, a])))
        XCTAssertTrue(w.contains("the same image is given for T1w, ce-gd_T1w, FLAIR"), w)
    }
}
