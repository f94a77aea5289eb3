import Foundation
import GantryCore
import GantryIO
import GantryTestSupport
import XCTest

/// Transforms both ways between Gantry and ANTs/ITK, against the fixtures of
/// scripts/fixtures/make_itk_transform_fixtures.py (antspyx 0.6.3, SimpleITK 2.5.7): `gantry warp`
/// applies ANTs' `*GenericAffine.mat` + `*Warp.nii.gz` as antsApplyTransforms does, and the
/// `affine.txt` + `field.nii.gz` Gantry writes are what antspyx and SimpleITK applied to reproduce
/// Gantry's own warped image (agreement.json: 6e-5 on a range of 93).
final class ITKTransformTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/itk").path

    func fixture(_ name: String) -> String { Self.fixtures + "/" + name }

    /// Largest voxel difference, and whether both images have the same non-zero support.
    func compare(_ a: String, _ b: String) throws -> (maxAbs: Float, sameSupport: Bool) {
        let x = try NIfTI.read(a), y = try NIfTI.read(b)
        XCTAssertEqual(x.shape, y.shape)
        XCTAssertEqual(x.affine.m.map { Float($0) }, y.affine.m.map { Float($0) }, "same grid")
        let d = zip(x.data, y.data).map { abs($0 - $1) }.max() ?? .infinity
        return (d, zip(x.data, y.data).allSatisfy { ($0 == 0) == ($1 == 0) })
    }

    func warp(_ args: [String], to out: String) throws {
        let r = try CLI.run(["warp", "--input", fixture("moving.nii.gz")] + args + ["--out", out, "-q"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testGantryWarpAppliesANTsMatAndWarpAsAntsApplyTransforms() throws {
        let tmp = try TempDir()
        try warp(["--reference", fixture("fixed_grid.nii.gz"), "--affine", fixture("ants_0GenericAffine.mat"), "--field", fixture("ants_1Warp.nii.gz")], to: tmp.path + "/w.nii.gz")
        let (d, support) = try compare(tmp.path + "/w.nii.gz", fixture("ants_warped.nii.gz"))
        XCTAssertLessThan(d, 1e-3, "antsApplyTransforms vs gantry warp, image range ≈ 93")
        XCTAssertTrue(support, "the same voxels fall outside the moving image")
        // SimpleITK's composite transform gave the same image.
        XCTAssertLessThan(try compare(tmp.path + "/w.nii.gz", fixture("sitk_warped.nii.gz")).maxAbs, 1e-3)
    }

    func testGantryTransformsAreReadByANTsAndSimpleITKAsGantryMeantThem() throws {
        let tmp = try TempDir()
        try warp(["--reference", fixture("pair_fixed.nii.gz"), "--affine", fixture("gantry_affine.txt"), "--field", fixture("gantry_field.nii.gz")], to: tmp.path + "/w.nii.gz")
        XCTAssertLessThan(try compare(tmp.path + "/w.nii.gz", fixture("gantry_warped.nii.gz")).maxAbs, 1e-4, "Gantry reads back what it wrote")
        for peer in ["ants_on_gantry.nii.gz", "sitk_on_gantry.nii.gz"] {
            let (d, support) = try compare(fixture("gantry_warped.nii.gz"), fixture(peer))
            XCTAssertLessThan(d, 1e-3, peer)
            XCTAssertTrue(support, peer)
        }
        // The field is stored as ANTs stores its *Warp.nii.gz: 5D vectors, intent 1007.
        let field = try NIfTI.read(fixture("gantry_field.nii.gz"))
        XCTAssertEqual(Array(field.shape.suffix(2)), [1, 3])
        XCTAssertEqual(field.header?.intentCode, 1007)

        // and a field Gantry writes today is stored the same way
        let out = tmp.path + "/reg"
        let r = try CLI.run(["register", "--fixed", fixture("pair_fixed.nii.gz"), "--moving", fixture("moving.nii.gz"), "--type", "syn", "--out", out, "-q"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let fresh = try NIfTI.read(out + "/field.nii.gz")
        XCTAssertEqual(fresh.shape, field.shape)
        XCTAssertEqual(fresh.header?.intentCode, 1007)
    }

    func testOlderFieldLayoutsAreStillRead() throws {
        let tmp = try TempDir()
        // Gantry < 0.2: [x, y, z, 3] in RAS; the standard's 1006: 5D in RAS.
        let itk = try NIfTI.read(fixture("gantry_field.nii.gz"))
        let n = itk.spatialCount
        let ras = Array(itk.data[0..<n].map { -$0 }) + Array(itk.data[n..<(2 * n)].map { -$0 }) + Array(itk.data[(2 * n)...])
        try NIfTI.write(try Volume(shape: Array(itk.shape.prefix(3)) + [3], affine: itk.affine, data: ras), to: tmp.path + "/legacy.nii.gz")
        try NIfTI.write(try Volume(shape: itk.shape, affine: itk.affine, data: ras), to: tmp.path + "/dispvect.nii.gz", options: .init(intent: 1006))
        for field in ["legacy", "dispvect"] {
            try warp(["--reference", fixture("pair_fixed.nii.gz"), "--affine", fixture("gantry_affine.txt"), "--field", tmp.path + "/\(field).nii.gz"], to: tmp.path + "/\(field)-w.nii.gz")
            XCTAssertLessThan(try compare(tmp.path + "/\(field)-w.nii.gz", fixture("gantry_warped.nii.gz")).maxAbs, 1e-4, field)
        }
    }

    func testDamagedMatTransformsAreOneLineErrors() throws {
        let tmp = try TempDir()
        let good = try FileIO.readAll(fixture("ants_0GenericAffine.mat"))
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(good.prefix(60)), "truncated .mat transform"),
            ("big-endian", [0xE8, 0x03, 0, 0] + Array(good.dropFirst(4)), "not an ITK/ANTs .mat transform"),
            ("huge-rows", Array(good.prefix(4)) + [0xFF, 0xFF, 0xFF, 0x7F] + Array(good.dropFirst(8)), "not an ITK/ANTs .mat transform"),
            ("empty", [], "not a 3D ITK affine transform"),
        ]
        for (name, bytes, message) in cases {
            let path = tmp.path + "/\(name).mat"
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let r = try CLI.run(["warp", "--input", fixture("moving.nii.gz"), "--reference", fixture("fixed_grid.nii.gz"), "--affine", path, "--out", tmp.path + "/o.nii.gz"], timeout: 30)
            XCTAssertEqual(r.status, 1, name)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(name): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path + "/o.nii.gz"), name)
        }
    }
}
