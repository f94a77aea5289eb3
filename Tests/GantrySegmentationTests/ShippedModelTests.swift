import Foundation
import GantryCore
import GantryPhantoms
@testable import GantrySegmentation
import XCTest

/// The shipped checkpoints segment a phantom subject they never saw (a seed outside their training study).
final class ShippedModelTests: XCTestCase {
    func testShippedUNetSegmentsAnUnseenSubject() throws {
        try checkUnseenSubject(model: "brain-tumour-unet3d.safetensors", architecture: UNet3D.self)
    }

    func checkUnseenSubject(model file: String, architecture: any SegmentationNetwork.Type) throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path), "mricron-data not installed")
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../models/\(file)").standardized.path
        let model = try SegmentationModel.load(path)
        XCTAssertTrue(type(of: model.network) == architecture)
        XCTAssertEqual(model.contrasts, ["T1w", "ce-gd_T1w", "T2w", "FLAIR"])
        let s = try BrainTumourPhantom(anatomy: try BrainAnatomy.colin27(spacing: 2)).subject(seed: 424242)
        let images = try Contrast.allCases.map { try XCTUnwrap(s.contrasts[$0]) }
        let mask = try model.segment(images)
        XCTAssertEqual(mask.affine, s.tumour.affine)
        var tp = 0.0, fp = 0.0, fn = 0.0
        for i in 0..<mask.count {
            let p = mask.data[i] > 0, r = s.tumour.data[i] > 0
            if p && r { tp += 1 } else if p { fp += 1 } else if r { fn += 1 }
        }
        let dice = 2 * tp / (2 * tp + fp + fn)
        print(String(format: "shipped %@, unseen subject: whole-tumour Dice %.3f", file, dice))
        XCTAssertGreaterThan(dice, 0.9)
    }
}
