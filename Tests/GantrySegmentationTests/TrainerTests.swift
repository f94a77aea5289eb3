import Foundation
import GantryNN
@testable import GantryPhantoms
@testable import GantrySegmentation
import XCTest

/// The patch trainer keeps the best epoch's checkpoint (by validation Dice) and the latest one (with
/// its epoch, for --resume), resumes from the latest, for every architecture.
final class TrainerTests: XCTestCase {
    func testCheckpointPerEpochAndResume() throws {
        let dir = NSTemporaryDirectory() + "gantry-train-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let anatomy = try BrainAnatomy.ellipsoid(shape: [24, 28, 24], spacing: 6)
        _ = try PhantomStudy(subjects: 2, seed: 3, phantom: BrainTumourPhantom(anatomy: anatomy), kspaceSlices: 0).write(to: dir + "/study")
        for architecture in SegmentationArchitecture.allCases {
            var o = SegmentationTrainer.Options()
            o.architecture = architecture
            o.channels = [4, 8]; o.patch = 8; o.epochs = 1; o.stepsPerEpoch = 2
            let out = dir + "/\(architecture.rawValue).safetensors"
            let first = try SegmentationTrainer(options: o).train(study: dir + "/study", output: out)
            XCTAssertEqual(first.count, 1)
            var meta = try SafeTensors.readWithMetadata(out).metadata
            XCTAssertEqual(meta["epoch"], "1")
            XCTAssertEqual(meta["gantry_model"], architecture.rawValue)
            XCTAssertEqual(try XCTUnwrap(Double(meta["validation_dice_wt"] ?? "")), first[0], accuracy: 1e-4)
            let model = try SegmentationModel.load(out)
            XCTAssertEqual(model.roi, [8, 8, 8])
            o.epochs = 2
            var log: [String] = []
            let resumed = try SegmentationTrainer(options: o).train(study: dir + "/study", output: out, resume: true) { log.append($0) }
            XCTAssertEqual(resumed.count, 1, "only the second epoch runs")
            XCTAssertTrue(log.contains("resuming after epoch 1"))
            XCTAssertEqual(try SafeTensors.readWithMetadata(TrainingCheckpoint.lastPath(out)).metadata["epoch"], "2")
            meta = try SafeTensors.readWithMetadata(out).metadata
            XCTAssertEqual(meta["epoch"], resumed[0] > first[0] ? "2" : "1", "the best epoch ships")
        }
    }
}
