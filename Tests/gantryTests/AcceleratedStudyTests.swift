import Foundation
import GantryCore
import GantryIO
import GantryTestSupport
import XCTest

/// The chain from k-space to masks (pipelines/accelerated-study.yaml, reduced to the fully sampled
/// and zero-filled 4× sets so it runs in seconds): whole-volume multi-coil k-space of every contrast
/// with readout oversampling → reconstructions on exactly the subject's image grid → tumour
/// segmentation → Dice rows in acceleration.csv and the report's plots. K-space that does not belong
/// to the image it is checked against is refused.
final class AcceleratedStudyTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The shipped pipeline without the CS-TV and CIRIM declarations, at 4× only.
    static func reducedPipeline() throws -> String {
        let text = try String(contentsOfFile: repository + "/pipelines/accelerated-study.yaml", encoding: .utf8)
        let blocks = text.components(separatedBy: "\n  - id: ")
        let kept = [blocks[0]] + blocks.dropFirst().filter { !$0.contains("method: [cs-tv]") && !$0.contains("method: [cirim]") }
        return kept.joined(separator: "\n  - id: ")
            .replacingOccurrences(of: "acceleration: [2, 4, 8]", with: "acceleration: [4]")
            .replacingOccurrences(of: "acceleration: [8]", with: "acceleration: [4]")
            .replacingOccurrences(of: "method: [zero-filled, cs-tv, cirim]", with: "method: [zero-filled]")
            .replacingOccurrences(of: "../models/", with: repository + "/models/")
    }

    func makeStudy(_ dir: String, subjects: Int = 1) throws -> String {
        let study = dir + "/study"
        let made = try CLI.run(["phantom", "study", "--spacing", "2", "--subjects", "\(subjects)", "--seed", "41", "--kspace", "all", "--kspace-slices", "all",
                                "--readout-oversampling", "2", "--coils", "4", "--out", study, "-q"], timeout: 120)
        XCTAssertEqual(made.status, 0, made.stderr)
        return study
    }

    func testKSpaceBecomesMasksOnTheImageGridAndDiceRows() throws {
        let tmp = try TempDir()
        let study = try makeStudy(tmp.path)
        let k = try KSpaceFile.read(study + "/sub-01/kspace/sub-01_FLAIR_kspace.h5")
        let t1 = try NIfTI.read(study + "/sub-01/anat/sub-01_T1w.nii.gz")
        XCTAssertEqual(k.shape, [t1.spatialShape[2], 4, 2 * t1.spatialShape[1], t1.spatialShape[0]], "every slice, readout oversampled 2×")
        XCTAssertEqual(k.geometry?.affine, t1.affine)

        let yaml = tmp.path + "/accelerated.yaml", out = tmp.path + "/out"
        try Self.reducedPipeline().write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", yaml, "--study", study, "--out", out, "-q"], timeout: 300)
        XCTAssertEqual(run.status, 0, run.stderr)

        // Every reconstruction is a volume on the T1w's grid.
        let stages = out + "/stages/sub-01"
        for name in ["recon-full-r1-T2w", "recon-zero-filled-r4-FLAIR"] {
            let v = try NIfTI.read("\(stages)/\(name)/recon.nii.gz")
            XCTAssertEqual(v.spatialShape, t1.spatialShape, name)
            XCTAssertLessThan(v.affine.maxDifference(t1.affine), 1e-4, name)
        }
        // Fully sampled, the chain segments as well as the images themselves do (they hold the same
        // information; only the k-space noise differs).
        let images = ["T1w", "ce-gd_T1w", "T2w", "FLAIR"].flatMap { ["--in", "\(study)/sub-01/anat/sub-01_\($0).nii.gz"] }
        let direct = try CLI.run(["segment", "--model", Self.repository + "/models/brain-tumour-unet3d.safetensors"] + images + ["--out", tmp.path + "/direct.nii.gz", "-q"], timeout: 120)
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let reference = try NIfTI.read(study + "/sub-01/anat/sub-01_label-tumour_dseg.nii.gz")
        func wholeTumourDice(_ path: String) throws -> Double {
            let m = try NIfTI.read(path)
            var tp = 0.0, n = 0.0
            for i in 0..<m.count { let p = m.data[i] > 0, r = reference.data[i] > 0; if p && r { tp += 1 }; if p { n += 1 }; if r { n += 1 } }
            return 2 * tp / n
        }
        let fromImages = try wholeTumourDice(tmp.path + "/direct.nii.gz"), fromKSpace = try wholeTumourDice(stages + "/tumour-full-r1/mask.nii.gz")
        print(String(format: "whole-tumour Dice: %.3f from the images, %.3f from fully sampled k-space", fromImages, fromKSpace))
        XCTAssertGreaterThan(fromImages, 0.9)
        XCTAssertGreaterThan(fromKSpace, fromImages - 0.01)

        // acceleration.csv: one row per method and acceleration, quality per contrast and Dice.
        let csv = try String(contentsOfFile: out + "/reports/acceleration.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = csv[0]
        XCTAssertEqual(Array(header.prefix(5)), ["subject", "method", "acceleration", "psnr_db_T1w", "ssim_T1w"])
        XCTAssertTrue(header.contains("dice_WT") && header.contains("dice_vs_full_ET") && header.contains("ssim_FLAIR"), "\(header)")
        XCTAssertEqual(csv.dropFirst().map { "\($0[1]) \($0[2])" }, ["full 1", "zero-filled 4"])
        func cell(_ row: Int, _ name: String) -> Double? { header.firstIndex(of: name).flatMap { Double(csv[row][$0]) } }
        XCTAssertEqual(try XCTUnwrap(cell(1, "dice_WT")), fromKSpace, accuracy: 1e-5)
        let undersampled = try XCTUnwrap(cell(2, "psnr_db_FLAIR")), agreement = try XCTUnwrap(cell(2, "dice_vs_full_WT"))
        XCTAssertLessThan(undersampled, try XCTUnwrap(cell(1, "psnr_db_FLAIR")), "4× zero-filled is worse than fully sampled")
        XCTAssertTrue((0...1).contains(agreement))
        let html = try String(contentsOfFile: out + "/reports/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Acceleration</h2>") && html.contains("aria-label=\"WT Dice vs reference against acceleration\""), "the plots")
        XCTAssertTrue(html.contains("<polyline"))
        XCTAssertTrue(html.contains("picture-zero-filled-r4"), "the overlay of the accelerated set")
    }

    func testKSpaceThatDoesNotBelongToTheImageIsRefused() throws {
        let tmp = try TempDir()
        let study = try makeStudy(tmp.path)
        let path = study + "/sub-01/kspace/sub-01_T1w_kspace.h5"
        let yaml = tmp.path + "/recon.yaml"
        try """
        name: grid
        inputs:
          t1w: anat/{subject}_T1w.nii.gz
          kspace: kspace/{subject}_T1w_kspace.h5
        stages:
          - id: recon
            uses: recon.zero-filled
            inputs: {kspace: inputs.kspace, grid: inputs.t1w}
            with: {acceleration: 1.0}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        var file = try KSpaceFile.read(path)
        func expectRefusal(_ phrase: String) throws {
            try file.write(path)
            let out = tmp.path + "/out-\(UUID().uuidString)"
            let r = try CLI.run(["run", yaml, "--study", study, "--out", out, "-q"], timeout: 120)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(phrase), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/stages/sub-01/recon"), "nothing partial")
        }
        // slices placed 2 mm higher than the image says
        file.geometry?.affine[2, 3] += 2
        try expectRefusal("places its slices elsewhere than sub-01_T1w.nii.gz (affines differ)")
        // a slab of the volume only
        file.geometry?.affine[2, 3] -= 2
        let plane = 2 * file.coils * file.shape[2] * file.shape[3]
        file.kspace = Array(file.kspace[0..<(10 * plane)]); file.shape[0] = 10
        file.reconstructionRSS = nil
        file.geometry?.sliceIndices = Array(0..<10)
        try expectRefusal("differs from sub-01_T1w.nii.gz's")
        // no geometry at all
        file.geometry = nil
        try expectRefusal("has no image geometry (image_affine, image_shape, slice_indices)")
    }

    /// A combination that fails for one subject: that subject's other stages that do not need it
    /// still run, the other subject finishes, the run fails naming the subject — and
    /// acceleration.csv is still written, the failed rows marked.
    func testAFailedReconstructionIsMarkedAndTheRestReported() throws {
        let tmp = try TempDir()
        let study = try makeStudy(tmp.path, subjects: 2)
        // sub-02's FLAIR k-space arrives damaged (a partial download).
        let flair = study + "/sub-02/kspace/sub-02_FLAIR_kspace.h5"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: flair))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: flair))
        let yaml = tmp.path + "/accelerated.yaml", out = tmp.path + "/out"
        try Self.reducedPipeline().write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", yaml, "--study", study, "--out", out, "-q"], timeout: 300)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("1 of 2 subject(s) failed") && run.stderr.contains("sub-02 (stage 'recon-full-r1-FLAIR'"), run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/stages/sub-02/recon-zero-filled-r4-T2w/recon.nii.gz"), "independent stages still ran")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/stages/sub-02/tumour-full-r1"), "nothing that needed the failed stage")
        let rows = try String(contentsOfFile: out + "/reports/acceleration.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let status = try XCTUnwrap(rows[0].firstIndex(of: "status")), wt = try XCTUnwrap(rows[0].firstIndex(of: "dice_WT"))
        let byRow = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { ("\($0[0]) \($0[1]) \($0[2])", $0) })
        XCTAssertEqual(Set(byRow.keys), ["sub-01 full 1", "sub-01 zero-filled 4", "sub-02 full 1", "sub-02 zero-filled 4"])
        XCTAssertEqual(byRow["sub-01 full 1"]?[status], "ok")
        XCTAssertGreaterThan(Double(byRow["sub-01 full 1"]?[wt] ?? "") ?? 0, 0.9)
        XCTAssertEqual(byRow["sub-02 full 1"]?[status], "failed")
        XCTAssertEqual(byRow["sub-02 zero-filled 4"]?[status], "failed")
        XCTAssertEqual(byRow["sub-02 full 1"]?[wt], "", "no Dice for a failed row")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/reports/report.html"), "the other study stages wait for a complete study")

        // Split as the Slurm executor splits it (array tasks, then the dependent study job): the
        // study part marks the failed rows the same way and names the subject.
        let split = tmp.path + "/split"
        _ = try CLI.run(["run", yaml, "--study", study, "--out", split, "--scope", "subjects", "-q"], timeout: 300)
        let studyJob = try CLI.run(["run", yaml, "--study", study, "--out", split, "--scope", "study", "-q"], timeout: 300)
        XCTAssertNotEqual(studyJob.status, 0)
        XCTAssertTrue(studyJob.stderr.contains("1 of 2 subject(s) did not finish") && studyJob.stderr.contains("sub-02"), studyJob.stderr)
        XCTAssertEqual(try String(contentsOfFile: split + "/reports/acceleration.csv", encoding: .utf8),
                       try String(contentsOfFile: out + "/reports/acceleration.csv", encoding: .utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: split + "/reports/report.html"))
    }
}
