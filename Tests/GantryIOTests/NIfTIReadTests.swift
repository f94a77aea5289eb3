import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// Reads every nibabel fixture and compares with what nibabel reported for it.
final class NIfTIReadTests: XCTestCase {
    func matrix(_ any: Any?) throws -> Affine {
        let rows = try XCTUnwrap(any as? [[Double]])
        return Affine(rows: rows)
    }

    func testEveryNibabelFixtureMatchesNibabel() throws {
        let expected = try Fixtures.expected("nifti")
        XCTAssertGreaterThanOrEqual(expected.count, 15)
        for (name, anyEntry) in expected.sorted(by: { $0.key < $1.key }) {
            let e = try XCTUnwrap(anyEntry as? [String: Any])
            let path = Fixtures.nifti(name)
            let shape = try XCTUnwrap(e["shape"] as? [Int])
            let header = try NIfTI.readHeader(path)
            XCTAssertEqual(header.shape, shape, name)
            XCTAssertEqual(header.type.name, e["dtype"] as? String, name)
            XCTAssertEqual(Int(header.header.qformCode), e["qform_code"] as? Int, name)
            XCTAssertEqual(Int(header.header.sformCode), e["sform_code"] as? Int, name)
            XCTAssertEqual(header.header.version, e["nifti_version"] as? Int, name)
            let affine = try matrix(e["affine"])
            XCTAssertLessThan(header.header.affineAtRead.maxDifference(affine), 1e-5, "\(name) affine\n\(header.header.affineAtRead)\nvs nibabel\n\(affine)")
            let zooms = try XCTUnwrap(e["zooms"] as? [Double])
            for (i, z) in zooms.enumerated() { XCTAssertEqual(header.header.pixdim[i + 1], z, accuracy: 1e-6, "\(name) zoom \(i)") }
            XCTAssertEqual(Orientation.axisCodes(of: header.header.affineAtRead).joined(), e["orientation"] as? String, name)
            if header.header.sformCode > 0 {
                XCTAssertLessThan(header.header.sform.maxDifference(try matrix(e["sform"])), 1e-6, "\(name) sform")
            }

            if header.type == .complex64 {
                let v = try NIfTI.readComplex(path)
                let values = try XCTUnwrap(e["values"] as? [[Double]])
                XCTAssertEqual(v.count, values.count, name)
                for (i, c) in values.enumerated() {
                    XCTAssertEqual(v.data[2 * i], Float(c[0]), name)
                    XCTAssertEqual(v.data[2 * i + 1], Float(c[1]), name)
                }
                XCTAssertThrowsError(try NIfTI.read(path))
            } else {
                let v = try NIfTI.read(path)
                let values = try XCTUnwrap(e["values"] as? [Double])
                XCTAssertEqual(v.data.count, values.count, name)
                var worst = 0.0
                for (a, b) in zip(v.data, values) { worst = max(worst, abs(Double(a) - b) / max(1, abs(b))) }
                XCTAssertLessThan(worst, 1e-6, "\(name) voxel values differ from nibabel's get_fdata")
                XCTAssertEqual(v.shape, shape, name)
                XCTAssertEqual(v.affine, header.header.affineAtRead, name)
                if shape.count == 4 { XCTAssertEqual(v.extraSpacing, [zooms[3]], name) }
            }
        }
    }

    func testScalingIsApplied() throws {
        let e = try XCTUnwrap(try Fixtures.expected("nifti")["scaled_int16.nii.gz"] as? [String: Any])
        XCTAssertEqual(e["slope_inter"] as? [Double], [0.5, 10.0])
        let v = try NIfTI.read(Fixtures.nifti("scaled_int16.nii.gz"))
        // raw value of voxel 0 is -300 → -300·0.5 + 10
        XCTAssertEqual(v.data[0], -140)
    }

    func testReadsExactlyTheFileNamed() throws {
        // libnifti, asked for X.nii.gz, opens X.nii when both exist; Gantry must not.
        let dir = try TempDir()
        let a = try Volume(shape: [2, 2, 2], data: [Float](repeating: 1, count: 8))
        let b = try Volume(shape: [2, 2, 2], data: [Float](repeating: 2, count: 8))
        try NIfTI.write(a, to: dir.file("x.nii"))
        try NIfTI.write(b, to: dir.file("x.nii.gz"))
        XCTAssertEqual(try NIfTI.read(dir.file("x.nii.gz")).data, b.data)
        XCTAssertEqual(try NIfTI.read(dir.file("x.nii")).data, a.data)
    }
}
