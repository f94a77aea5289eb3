import Foundation
import GantryCore
import GantryIO
import GantryNN
@testable import GantryPhantoms
@testable import GantrySegmentation
import XCTest

/// The patch trainer keeps the best epoch's checkpoint (by validation Dice) and the latest one (with
/// its epoch, for --resume), resumes from the latest, for every architecture.
final class TrainerTests: XCTestCase {
    /// A two-subject ellipsoid study in `<returned folder>/study` (the caller removes the folder).
    func makeStudy() throws -> String {
        let dir = NSTemporaryDirectory() + "gantry-train-\(UUID().uuidString)"
        let anatomy = try BrainAnatomy.ellipsoid(shape: [24, 28, 24], spacing: 6)
        _ = try PhantomStudy(subjects: 2, seed: 3, phantom: BrainTumourPhantom(anatomy: anatomy), kspaceSlices: 0).write(to: dir + "/study")
        return dir
    }

    func testCheckpointPerEpochAndResume() throws {
        let dir = try makeStudy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
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

    /// The stripped-brain recipe: each subject also as images × its brain mask, normalised on their
    /// own; the checkpoint's intensity range spans both and counts subjects, not views; the
    /// normalisation trained with is recorded.
    func testStrippedViewsAndTheRecordedPreprocessing() throws {
        let dir = try makeStudy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SegmentationTrainer.Options()
        o.channels = [4, 8]; o.patch = 8; o.epochs = 1; o.stepsPerEpoch = 2; o.strippedProbability = 0.5
        let trainer = SegmentationTrainer(options: o)
        let c = try trainer.load(study: dir + "/study", subject: "sub-01")
        let brain = try VolumeFile.read(dir + "/study/sub-01/anat/sub-01_label-brain_mask.nii.gz").data
        XCTAssertEqual(c.stripped.count, 4)
        for ch in c.stripped { for (v, b) in zip(ch, brain) where b == 0 { XCTAssertEqual(v, 0) } }
        XCTAssertNotEqual(c.stripped[0], c.images[0])
        XCTAssertEqual(c.profiles.count, 2)
        try trainer.train(study: dir + "/study", output: dir + "/m.safetensors")
        let model = try SegmentationModel.load(dir + "/m.safetensors")
        XCTAssertEqual(model.normalisation, .foreground)
        XCTAssertEqual(model.intensityRange?.subjects, 1, "one training subject, seen whole and stripped")
    }

    /// The reconstruction recipe: each contrast's degraded views are made once per subject,
    /// normalised like the images, and a degraded patch lies between the clean image and the view
    /// (weight 0.3–1); a mismatched view is refused; recipes without it sample as before.
    func testDegradedViewsAreBlendedIntoPatches() throws {
        let dir = try makeStudy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SegmentationTrainer.Options()
        o.channels = [4, 8]; o.patch = 24; o.epochs = 1; o.stepsPerEpoch = 2
        let plain = SegmentationTrainer(options: o)
        let clean = try plain.load(study: dir + "/study", subject: "sub-01")
        XCTAssertTrue(clean.degraded.isEmpty)
        // a view that doubles the brightest voxels (normalised, it still differs from the image)
        o.degradedProbability = 1
        o.degradedViews = { v in
            var brighter = v
            let top = v.data.max() ?? 0
            brighter.data = v.data.map { $0 > top / 2 ? 2 * $0 : $0 }
            return [brighter]
        }
        let trainer = SegmentationTrainer(options: o)
        let c = try trainer.load(study: dir + "/study", subject: "sub-01")
        XCTAssertEqual(c.degraded.count, 1)
        XCTAssertEqual(c.degraded[0].count, 4)
        XCTAssertNotEqual(c.degraded[0][0], c.images[0])
        XCTAssertEqual(c.profiles.count, 2, "the intensity range covers the views trained on")
        var rng = SeededRandom(seed: 5), base = SeededRandom(seed: 5)
        let (x, _) = trainer.sample(c, rng: &rng), (x0, _) = plain.sample(clean, rng: &base)
        XCTAssertNotEqual(x.data, x0.data, "every patch is degraded at probability 1")
        o.degradedViews = { v in [try Volume(shape: [2, 2, 2], affine: v.affine, filledWith: 1)] }
        XCTAssertThrowsError(try SegmentationTrainer(options: o).load(study: dir + "/study", subject: "sub-01"))
    }
}
