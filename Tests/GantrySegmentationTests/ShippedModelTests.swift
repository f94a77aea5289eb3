import Foundation
import GantryCore
import GantryIO
import GantryPhantoms
@testable import GantrySegmentation
import XCTest

/// The shipped checkpoints segment a phantom subject they never saw (a seed outside their training study).
final class ShippedModelTests: XCTestCase {
    func testShippedUNetSegmentsAnUnseenSubject() throws {
        try checkUnseenSubject(model: "brain-tumour-unet3d.safetensors", architecture: UNet3D.self)
    }

    /// At 1 mm (BraTS's grid size) the shipped U-Net, trained on 2 mm phantoms, segments at 2 mm and
    /// brings the probabilities back: the mask is on the input grid and scores as at 2 mm, where
    /// taking the 1 mm input as it is loses whole-tumour Dice and finds tumour far from it.
    func testInputsAtAnotherVoxelSizeAreSegmentedAtTheTrainingSpacing() throws {
        guard FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path) else {
            return XCTFail("Colin27 is not installed (Debian package mricron-data; make deps installs it)")
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../models/brain-tumour-unet3d.safetensors").standardized.path
        let model = try SegmentationModel.load(path)
        XCTAssertEqual(model.spacing, [2, 2, 2], "the checkpoint records its training voxel size")
        let s = try BrainTumourPhantom(anatomy: try BrainAnatomy.colin27(spacing: 1)).subject(seed: 424243)
        let images = try Contrast.allCases.map { try XCTUnwrap(s.contrasts[$0]) }
        func wholeTumourDice(_ m: SegmentationModel) throws -> Double {
            let mask = try m.segment(images)
            XCTAssertEqual(mask.affine, s.tumour.affine)
            XCTAssertEqual(mask.spatialShape, s.tumour.spatialShape)
            var tp = 0.0, fp = 0.0, fn = 0.0
            for i in 0..<mask.count {
                let p = mask.data[i] > 0, r = s.tumour.data[i] > 0
                if p && r { tp += 1 } else if p { fp += 1 } else if r { fn += 1 }
            }
            return 2 * tp / (2 * tp + fp + fn)
        }
        var asIs = model
        asIs.spacing = nil
        let resampled = try wholeTumourDice(model), unresampled = try wholeTumourDice(asIs)
        print(String(format: "1 mm input: whole-tumour Dice %.3f at the training spacing, %.3f taken as it is", resampled, unresampled))
        XCTAssertGreaterThanOrEqual(resampled, 0.9)
        XCTAssertGreaterThan(resampled, unresampled)
    }

    /// The checkpoint knows what its training inputs looked like: an unseen phantom subject passes,
    /// a real healthy T1 (Colin27) given for all four contrasts is flagged, naming what is off, and
    /// the same image given four times is said.
    func testInputsUnlikeTheTrainingDataAreFlagged() throws {
        guard FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path) else {
            return XCTFail("Colin27 is not installed (Debian package mricron-data; make deps installs it)")
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../models/brain-tumour-unet3d.safetensors").standardized.path
        let model = try SegmentationModel.load(path)
        XCTAssertEqual(model.intensityRange?.subjects, 8)
        let s = try BrainTumourPhantom(anatomy: try BrainAnatomy.colin27(spacing: 2)).subject(seed: 424242)
        XCTAssertNil(model.intensityWarning(try model.prepare(try Contrast.allCases.map { try XCTUnwrap(s.contrasts[$0]) })))
        let t1 = try VolumeFile.read(URL(fileURLWithPath: BrainAnatomy.colin27Path).deletingLastPathComponent().appendingPathComponent("ch2bet.nii.gz").path)
        let warning = try XCTUnwrap(model.intensityWarning(try model.prepare([t1, t1, t1, t1])))
        print(warning)
        XCTAssertTrue(warning.contains("training subjects") && ["T1w", "ce-gd_T1w", "T2w", "FLAIR"].contains { warning.contains("\($0) 1% quantile") || warning.contains("\($0) 5% quantile") }, warning)
        XCTAssertTrue(model.inputWarnings(try model.prepare([t1, t1, t1, t1])).contains { $0.contains("the same image is given for T1w, ce-gd_T1w, T2w, FLAIR") })
    }

    func checkUnseenSubject(model file: String, architecture: any SegmentationNetwork.Type) throws {
        guard FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path) else {
            return XCTFail("Colin27 is not installed (Debian package mricron-data; make deps installs it)")
        }
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
