import Foundation
import GantryCore
import GantryIO
import GantrySegmentation
import GantryTestSupport
import XCTest

/// `gantry segment` on a folder of cases laid out as nnU-Net's, and in the BraTS 2021 label
/// convention, with the shipped U-Net on a small phantom.
final class SegmentCommandTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let model = SegmentCommandTests.repository + "/models/brain-tumour-unet3d.safetensors"
    let contrasts = ["T1w", "ce-gd_T1w", "T2w", "FLAIR"]

    func phantom(_ dir: String, seed: Int) throws -> String {
        let out = "\(dir)/phantom-\(seed)"
        let r = try CLI.run(["phantom", "brain-tumour", "--anatomy", "ellipsoid", "--size", "48", "--spacing", "4", "--seed", "\(seed)", "--out", out, "-q"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func testFolderOfNNUNetCasesGivesTheSameMasksAsOneCaseAtATime() throws {
        let tmp = try TempDir()
        let input = tmp.path + "/imagesTs", output = tmp.path + "/predictions"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        var single: [String: [UInt8]] = [:]
        for (seed, name) in [(1, "CASE_001"), (2, "CASE_002")] {
            let p = try phantom(tmp.path, seed: seed)
            for (i, c) in contrasts.enumerated() {
                try FileManager.default.copyItem(atPath: "\(p)/\(c).nii.gz", toPath: String(format: "%@/%@_%04d.nii.gz", input, name, i))
            }
            let r = try CLI.run(["segment", "--model", model] + contrasts.flatMap { ["--in", "\(p)/\($0).nii.gz"] } + ["--out", "\(p)/seg.nii.gz", "-q"], timeout: 60)
            XCTAssertEqual(r.status, 0, r.stderr)
            single[name] = try FileIO.readAll("\(p)/seg.nii.gz")
        }
        let r = try CLI.run(["segment", "--model", model, "--in-dir", input, "--out-dir", output], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("segmented 2 case(s)"), r.stdout)
        XCTAssertTrue(r.stderr.contains("[2/2] CASE_002"), "progress per case: \(r.stderr)")
        for (name, bytes) in single { XCTAssertEqual(try FileIO.readAll("\(output)/\(name).nii.gz"), bytes, name) }

        // A case short of a channel stops the run before anything is written.
        try FileManager.default.removeItem(atPath: input + "/CASE_002_0003.nii.gz")
        let short = try CLI.run(["segment", "--model", model, "--in-dir", input, "--out-dir", tmp.path + "/p2"], timeout: 60)
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.contains("case CASE_002 has 3 channel(s); the model takes 4"), short.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path + "/p2/CASE_001.nii.gz"))
    }

    /// `--grid input` runs the network on the input's own voxels (MONAI's way): at 4 mm the
    /// probabilities are the library's with the checkpoint's voxel size ignored, and unlike the
    /// default's, which segments at the model's 2 mm and resamples back.
    func testGridInputRunsTheNetworkOnTheInputVoxels() throws {
        let tmp = try TempDir()
        let p = try phantom(tmp.path, seed: 4)
        let ins = contrasts.flatMap { ["--in", "\(p)/\($0).nii.gz"] }
        for grid in ["input", "training"] {
            let r = try CLI.run(["segment", "--model", model] + ins + ["--grid", grid, "--out", "\(p)/\(grid).nii.gz", "--probabilities", "\(p)/\(grid)-p.nii.gz", "-q"], timeout: 60)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        var m = try SegmentationModel.load(model)
        XCTAssertEqual(m.spacing, [2, 2, 2])
        m.spacing = nil
        let want = try m.probabilities(try contrasts.map { try NIfTI.read("\(p)/\($0).nii.gz") })
        let onInput = try NIfTI.read("\(p)/input-p.nii.gz"), onTraining = try NIfTI.read("\(p)/training-p.nii.gz")
        XCTAssertEqual(onInput.shape, want.shape)
        XCTAssertEqual(onInput.data, want.data)
        XCTAssertEqual(onTraining.shape, want.shape)
        XCTAssertNotEqual(onTraining.data, want.data)
        let bad = try CLI.run(["segment", "--model", model] + ins + ["--grid", "native", "--out", "\(p)/x.nii.gz"], timeout: 30)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--grid"), bad.stderr)
    }

    func testBraTS2021ConventionLabelsEnhancingTumourFour() throws {
        let tmp = try TempDir()
        let p = try phantom(tmp.path, seed: 3)
        let ins = contrasts.flatMap { ["--in", "\(p)/\($0).nii.gz"] }
        for convention in ["brats2023", "brats2021"] {
            let r = try CLI.run(["segment", "--model", model] + ins + ["--out", "\(p)/\(convention).nii.gz", "--label-convention", convention, "-q"], timeout: 60)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let a = try NIfTI.read("\(p)/brats2023.nii.gz"), b = try NIfTI.read("\(p)/brats2021.nii.gz")
        XCTAssertTrue(a.data.contains(3), "the phantom's tumour has an enhancing part")
        XCTAssertEqual(b.data, a.data.map { $0 == 3 ? 4 : $0 })
        // dice in the matching convention scores ET the same; in the wrong one it warns
        let ref2021 = "\(p)/ref2021.nii.gz"
        let ref = try NIfTI.read("\(p)/label-tumour_dseg.nii.gz")
        try NIfTI.write(try ref.with(data: ref.data.map { $0 == 3 ? 4 : $0 }), to: ref2021, options: .init(datatype: .uint8))
        let d23 = try CLI.run(["dice", "--pred", "\(p)/brats2023.nii.gz", "--ref", "\(p)/label-tumour_dseg.nii.gz", "--brats", "--json"], timeout: 30)
        let d21 = try CLI.run(["dice", "--pred", "\(p)/brats2021.nii.gz", "--ref", ref2021, "--brats", "--label-convention", "brats2021", "--json"], timeout: 30)
        func et(_ o: CLI.Outcome) throws -> Double? {
            let j = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
            return (j?["ET"] as? [String: Any])?["dice"] as? Double
        }
        XCTAssertNotNil(try et(d23))
        XCTAssertEqual(try et(d21), try et(d23))
        let wrong = try CLI.run(["dice", "--pred", "\(p)/brats2021.nii.gz", "--ref", ref2021, "--brats"], timeout: 30)
        XCTAssertTrue(wrong.stderr.contains("looks like brats2021 labels"), wrong.stderr)
    }
}
