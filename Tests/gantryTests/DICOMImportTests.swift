import Foundation
import GantryCore
import GantryIO
import GantryTestSupport
import XCTest

/// `gantry import dicom` on real DICOM (nibabel's Philips MPRAGE and Siemens DTI test files) with
/// Debian's dcm2niix: the MPRAGE becomes sub-01_T1w with its sidecar, bytes and geometry those of
/// dcm2niix's own output; the DTI series is reported, not guessed; bad folders are one-line errors.
final class DICOMImportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dicom").path

    /// The fixtures unpacked into `dir/dicom`.
    func unpack(_ dir: String) throws -> String {
        let folder = dir + "/dicom"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["philips_mprage", "siemens_dwi_0"] {
            let r = try Subprocess.run("/bin/sh", ["-c", "gzip -dc '\(Self.fixtures)/\(name).dcm.gz' > '\(folder)/\(name).dcm'"], timeout: 60)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        return folder
    }

    func testRealDICOMBecomesABIDSStudy() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dcm2niix") else {
            return XCTFail("dcm2niix is not installed (Debian package dcm2niix; make deps installs it)")
        }
        let tmp = try TempDir()
        let dicom = try unpack(tmp.path), study = tmp.path + "/study"
        let r = try CLI.run(["import", "dicom", dicom, "--out", study, "--subject", "01", "--session", "pre"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .newlines), study + "/sub-01/ses-pre/anat/sub-01_ses-pre_T1w.nii.gz")
        XCTAssertTrue(r.stderr.contains("not imported: series 12 (CBU_DTI_64D_1A"), r.stderr)
        let files = tmp.allFiles.filter { $0.hasPrefix("study/") }.filter { !$0.hasSuffix("/") }
        XCTAssertEqual(Set(files.filter { $0.contains(".") }), ["study/dataset_description.json", "study/participants.tsv",
                                                               "study/sub-01/ses-pre/anat/sub-01_ses-pre_T1w.nii.gz", "study/sub-01/ses-pre/anat/sub-01_ses-pre_T1w.json"])
        let sidecar = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: study + "/sub-01/ses-pre/anat/sub-01_ses-pre_T1w.json"))) as? [String: Any])
        XCTAssertEqual(sidecar["SeriesDescription"] as? String, "MPRAGE_S2")
        XCTAssertEqual(try String(contentsOfFile: study + "/participants.tsv", encoding: .utf8), "participant_id\nsub-01\n")

        // the image is dcm2niix's own conversion of the series
        let direct = tmp.path + "/direct"
        try FileManager.default.createDirectory(atPath: direct, withIntermediateDirectories: true)
        let converted = try Subprocess.run("/usr/bin/dcm2niix", ["-b", "n", "-z", "y", "-f", "%s", "-o", direct, dicom], timeout: 120)
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let a = try NIfTI.read(study + "/sub-01/ses-pre/anat/sub-01_ses-pre_T1w.nii.gz"), b = try NIfTI.read(direct + "/301.nii.gz")
        XCTAssertEqual(a.shape, b.shape)
        XCTAssertEqual(a.affine, b.affine)
        XCTAssertEqual(a.data, b.data)
        XCTAssertEqual(a.shape, [176, 256, 256])

        // A second subject joins the same study; importing again replaces, never duplicates.
        XCTAssertEqual(try CLI.run(["import", "dicom", dicom, "--out", study, "--subject", "02", "-q"], timeout: 120).status, 0)
        XCTAssertEqual(try CLI.run(["import", "dicom", dicom, "--out", study, "--subject", "02", "-q"], timeout: 120).status, 0)
        XCTAssertEqual(try String(contentsOfFile: study + "/participants.tsv", encoding: .utf8), "participant_id\nsub-01\nsub-02\n")
        XCTAssertFalse(tmp.allFiles.contains { $0.contains(".gantry-import-") }, "no temporary folder left")
    }

    func testFoldersWithoutMappableImagesAreOneLineErrors() throws {
        let tmp = try TempDir()
        let empty = tmp.path + "/empty", study = tmp.path + "/study"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: empty + "/notes.txt", contents: Data("not DICOM".utf8))
        let dicom = try unpack(tmp.path)
        try FileManager.default.removeItem(atPath: dicom + "/philips_mprage.dcm")
        let config = tmp.path + "/bad.json"
        try "{\"series\": [{\"pattern\": \"(\", \"name\": \"T1w\"}]}".write(toFile: config, atomically: true, encoding: .utf8)
        for (args, message) in [([empty], "no DICOM images dcm2niix could convert"),
                                ([dicom], "no series matched a naming rule: series 12"),
                                ([dicom, "--config", config], "not a naming config"),
                                ([tmp.path + "/missing"], "DICOM folder")] {
            let r = try CLI.run(["import", "dicom"] + args + ["--out", study, "--subject", "01"], timeout: 60)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: study + "/sub-01"), "\(args): nothing imported")
        }
    }

    /// A pipeline starts from the scanner's DICOM: `io.dicom` takes the series a rule names, as
    /// NIfTI (dcm2niix's own conversion) with its sidecar; the folder is hashed for the cache; a
    /// series the folder lacks is a one-line error naming what it holds.
    func testAPipelineStartsFromADICOMFolder() throws {
        let tmp = try TempDir()
        let study = tmp.path + "/study"
        try FileManager.default.createDirectory(atPath: study + "/sub-01", withIntermediateDirectories: true)
        let dicom = try unpack(study + "/sub-01")
        let yaml = tmp.path + "/from-dicom.yaml"
        func write(series: String) throws {
            try """
            name: from-dicom
            inputs:
              dicom: dicom
            stages:
              - id: t1w
                uses: io.dicom
                inputs: {dicom: inputs.dicom}
                with: {series: \(series)}
              - id: picture
                uses: report.snapshot
                inputs: {image: t1w.image}
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        }
        try write(series: "T1w")
        let out = tmp.path + "/out"
        let r = try CLI.run(["run", yaml, "--study", study, "--out", out, "-q"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let stage = out + "/stages/sub-01/t1w"
        let direct = tmp.path + "/direct"
        try FileManager.default.createDirectory(atPath: direct, withIntermediateDirectories: true)
        XCTAssertEqual(try Subprocess.run("/usr/bin/dcm2niix", ["-b", "n", "-z", "y", "-f", "%s", "-o", direct, dicom], timeout: 120).status, 0)
        let a = try NIfTI.read(stage + "/image.nii.gz"), b = try NIfTI.read(direct + "/301.nii.gz")
        XCTAssertEqual(a.shape, b.shape)
        XCTAssertEqual(a.affine, b.affine)
        XCTAssertEqual(a.data, b.data)
        let sidecar = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stage + "/image.json"))) as? [String: Any])
        XCTAssertEqual(sidecar["SeriesDescription"] as? String, "MPRAGE_S2")
        let provenance = try String(contentsOfFile: stage + "/provenance.json", encoding: .utf8)
        XCTAssertTrue(provenance.contains("not imported (no naming rule): series 12"), provenance)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: stage)), ["image.nii.gz", "image.json", "provenance.json"], "no scratch left")
        let again = try CLI.run(["run", yaml, "--study", study, "--out", out], timeout: 120)
        XCTAssertTrue(again.stdout.contains("ran 0 stage(s), 2 cached"), again.stdout + again.stderr)

        try write(series: "FLAIR")
        let missing = try CLI.run(["run", yaml, "--study", study, "--out", tmp.path + "/out2", "-q"], timeout: 120)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no FLAIR series in \(dicom) (found: T1w)"), missing.stderr)
    }
}
