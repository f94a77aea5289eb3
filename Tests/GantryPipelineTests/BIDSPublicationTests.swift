import Foundation
import GantryCore
import GantryIO
@testable import GantryPipeline
import XCTest

/// OUT as a BIDS derivatives dataset: names, sidecars, label tables, links to the stage outputs,
/// and the rules of docs/pipelines.md ("BIDS derivatives") checked on every file a run publishes.
final class BIDSPublicationTests: XCTestCase {
    /// The rules every published file follows (docs/pipelines.md lists them): the subject's (and
    /// session's) folder and `anat/`, entities in the specification's order with alphanumeric labels,
    /// a known suffix and extension.
    static let rule = try! NSRegularExpression(pattern:
        #"^(sub-[A-Za-z0-9]+)/(?:(ses-[A-Za-z0-9]+)/)?anat/\1(?:_\2)?(?:_from-[A-Za-z0-9]+_to-[A-Za-z0-9]+_mode-image)?(?:_space-[A-Za-z0-9]+)?_desc-[A-Za-z0-9]+_(dseg|probseg|mask|xfm|T1w|T2w|FLAIR)\.(nii\.gz|json|tsv|txt)$"#)

    func published(_ out: String) -> [String] {
        let ignored = DerivativesDataset.ignored + [".gantry/"]
        return (FileManager.default.subpaths(atPath: out) ?? []).filter { p in
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: out + "/" + p, isDirectory: &isDir)
            return !isDir.boolValue && !ignored.contains { p.hasPrefix($0) } && !["dataset_description.json", ".bidsignore"].contains(p)
        }.sorted()
    }

    func testTissueMasksArePublishedWithBIDSNamesSidecarsAndLabelTables() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Executor.run(try TestStudy.plan(out: out))
        let files = published(out)
        XCTAssertEqual(files, ["sub-01/anat/sub-01_space-orig_desc-seg_dseg.json", "sub-01/anat/sub-01_space-orig_desc-seg_dseg.nii.gz", "sub-01/anat/sub-01_space-orig_desc-seg_dseg.tsv",
                               "sub-02/anat/sub-02_space-orig_desc-seg_dseg.json", "sub-02/anat/sub-02_space-orig_desc-seg_dseg.nii.gz", "sub-02/anat/sub-02_space-orig_desc-seg_dseg.tsv"])
        for f in files { XCTAssertEqual(Self.rule.numberOfMatches(in: f, range: NSRange(f.startIndex..., in: f)), 1, f) }

        let mask = out + "/sub-01/anat/sub-01_space-orig_desc-seg_dseg.nii.gz"
        XCTAssertEqual(try FileIO.readAll(mask), try FileIO.readAll(out + "/stages/sub-01/seg/mask.nii.gz"))
        var a = stat(), b = stat()
        stat(mask, &a); stat(out + "/stages/sub-01/seg/mask.nii.gz", &b)
        XCTAssertEqual(a.st_ino, b.st_ino, "published as a hard link, not a second copy")
        XCTAssertEqual(try String(contentsOfFile: out + "/sub-01/anat/sub-01_space-orig_desc-seg_dseg.tsv", encoding: .utf8), "index\tname\n1\tCSF\n2\tGM\n3\tWM\n")
        let sidecar = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/sub-01/anat/sub-01_space-orig_desc-seg_dseg.json"))) as? [String: Any])
        XCTAssertEqual(Set(sidecar["Sources"] as? [String] ?? []), ["bids:raw:sub-01/anat/sub-01_T1w.nii.gz", "bids:raw:sub-01/anat/sub-01_label-brain_mask.nii.gz"])
        XCTAssertEqual((sidecar["GeneratedBy"] as? [String: Any])?["Kind"] as? String, "segment.tissue-kmeans")
        XCTAssertEqual((sidecar["Parameters"] as? [String: Any])?["classes"] as? Int, 3)
        let description = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/dataset_description.json"))) as? [String: Any])
        XCTAssertEqual(description["DatasetType"] as? String, "derivative")
        XCTAssertEqual((description["DatasetLinks"] as? [String: String])?["raw"], URL(fileURLWithPath: TestStudy.path).absoluteString)
        XCTAssertEqual(try String(contentsOfFile: out + "/.bidsignore", encoding: .utf8), "stages/\nreports/\n")

        // A published file removed by hand comes back on the next run, though the stage is cached.
        try FileManager.default.removeItem(atPath: mask)
        let again = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertEqual(again.ran, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: mask))
        XCTAssertEqual(published(out), files, "nothing else appears (no temporaries)")
    }

    func testRegistrationPublishesTheWarpedImageLabelsAndTransformInTemplateSpace() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let yaml = TestStudy.registrationYAML(id: "to-template")
        _ = try Executor.run(try TestStudy.plan(yaml, out: out, subjects: ["02"]))
        let files = published(out)
        XCTAssertEqual(files, ["sub-02/anat/sub-02_from-orig_to-template_mode-image_desc-totemplate_xfm.json",
                               "sub-02/anat/sub-02_from-orig_to-template_mode-image_desc-totemplate_xfm.txt",
                               "sub-02/anat/sub-02_space-template_desc-totemplate_T1w.json",
                               "sub-02/anat/sub-02_space-template_desc-totemplate_T1w.nii.gz",
                               "sub-02/anat/sub-02_space-template_desc-totemplate_dseg.json",
                               "sub-02/anat/sub-02_space-template_desc-totemplate_dseg.nii.gz",
                               "sub-02/anat/sub-02_space-template_desc-totemplate_dseg.tsv"])
        for f in files { XCTAssertEqual(Self.rule.numberOfMatches(in: f, range: NSRange(f.startIndex..., in: f)), 1, f) }
        let warped = try NIfTI.read(out + "/sub-02/anat/sub-02_space-template_desc-totemplate_T1w.nii.gz")
        XCTAssertEqual(warped.affine, try NIfTI.read(TestStudy.path + "/sub-01/anat/sub-01_T1w.nii.gz").affine, "on the template's grid")
    }
}
