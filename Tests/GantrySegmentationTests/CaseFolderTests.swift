import Foundation
import GantryCore
@testable import GantrySegmentation
import XCTest

/// nnU-Net's input folder naming (CASE_XXXX.nii.gz): cases, channel order, and the folders refused.
final class CaseFolderTests: XCTestCase {
    func folder(_ files: [String]) throws -> String {
        let dir = NSTemporaryDirectory() + "gantry-cases-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in files { _ = FileManager.default.createFile(atPath: dir + "/" + f, contents: Data([0])) }
        return dir
    }

    func testCasesAndChannelOrder() throws {
        let dir = try folder(["BraTS_002_0001.nii.gz", "BraTS_002_0000.nii.gz", "BraTS_001_0000.nii.gz", "BraTS_001_0001.nii.gz", "dataset.json"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases = try CaseFolder.nnUNetCases(dir)
        XCTAssertEqual(cases.map(\.name), ["BraTS_001", "BraTS_002"])
        XCTAssertEqual(cases[1].channels, [dir + "/BraTS_002_0000.nii.gz", dir + "/BraTS_002_0001.nii.gz"])
    }

    func testGapsAndForeignNamesAreRefused() throws {
        for (files, message) in [(["a_0000.nii.gz", "a_0002.nii.gz"], "case a has channels 0000, 0002"),
                                 (["a_0000.nii.gz", "a_t1.nii.gz"], "not named CASE_XXXX.nii.gz"),
                                 (["notes.txt"], "no CASE_XXXX.nii.gz files")] {
            let dir = try folder(files)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            XCTAssertThrowsError(try CaseFolder.nnUNetCases(dir)) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
    }
}
