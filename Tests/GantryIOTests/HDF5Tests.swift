import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// fastMRI-layout files written by h5py, and Gantry's own HDF5 round trips.
final class HDF5Tests: XCTestCase {
    func testReadsH5pyFastMRIMulticoil() throws {
        let e = try XCTUnwrap(try Fixtures.expected("hdf5")["fastmri_multicoil.h5"] as? [String: Any])
        let k = try KSpaceFile.read(Fixtures.hdf5("fastmri_multicoil.h5"))
        XCTAssertEqual(k.shape, e["kspace_shape"] as? [Int])
        XCTAssertTrue(k.isMultiCoil)
        XCTAssertEqual(k.coils, 3)
        // Values are float32 in the file; JSON holds their exact decimal, compared as Float
        // (Foundation's JSON parser may be off by one ulp of Double).
        let values = try XCTUnwrap(e["kspace"] as? [[Double]])
        XCTAssertEqual(values.count * 2, k.kspace.count)
        for (i, c) in values.enumerated() {
            XCTAssertEqual(k.kspace[2 * i], Float(c[0]))
            XCTAssertEqual(k.kspace[2 * i + 1], Float(c[1]))
        }
        XCTAssertEqual(k.mask?.data, (e["mask"] as? [Double])?.map { Float($0) })
        XCTAssertEqual(k.reconstructionRSS?.shape, e["rss_shape"] as? [Int])
        XCTAssertEqual(k.reconstructionRSS?.data, (e["rss"] as? [Double])?.map { Float($0) })
        XCTAssertEqual(try XCTUnwrap(k.max), try XCTUnwrap(e["max"] as? Double), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(k.norm), try XCTUnwrap(e["norm"] as? Double), accuracy: 1e-12)
        XCTAssertEqual(k.acquisition, "CORPD_FBK")
    }

    func testReadsH5pySinglecoil() throws {
        let k = try KSpaceFile.read(Fixtures.hdf5("fastmri_singlecoil.h5"))
        XCTAssertEqual(k.shape, [2, 8, 6])
        XCTAssertFalse(k.isMultiCoil)
        XCTAssertEqual(k.max, 1.5)
        XCTAssertEqual(k.acquisition, "CORPDFS_FBK")
        XCTAssertNil(k.mask)
    }

    func testKSpaceRoundTrip() throws {
        let dir = try TempDir()
        var k = try KSpaceFile.read(Fixtures.hdf5("fastmri_multicoil.h5"))
        k.acquisition = "AXT1"
        try k.write(dir.file("k.h5"))
        let back = try KSpaceFile.read(dir.file("k.h5"))
        XCTAssertEqual(back.kspace, k.kspace)
        XCTAssertEqual(back.shape, k.shape)
        XCTAssertEqual(back.mask?.data, k.mask?.data)
        XCTAssertEqual(back.reconstructionRSS?.data, k.reconstructionRSS?.data)
        XCTAssertEqual(back.max, k.max)
        XCTAssertEqual(back.norm, k.norm)
        XCTAssertEqual(back.acquisition, "AXT1")
    }

    func testTreeListsDatasetsAndAttributes() throws {
        let f = try HDF5File(readingFrom: Fixtures.hdf5("fastmri_multicoil.h5"))
        let nodes = f.tree()
        let byPath = Dictionary(uniqueKeysWithValues: nodes.map { ($0.path, $0) })
        XCTAssertEqual(byPath["/kspace"]?.type, "complex64")
        XCTAssertEqual(byPath["/kspace"]?.shape, [2, 3, 8, 6])
        XCTAssertEqual(byPath["/mask"]?.type, "float32")
        XCTAssertEqual(byPath["/"]?.attributes.first { $0.0 == "acquisition" }?.1, .string("CORPD_FBK"))
        XCTAssertThrowsError(try f.readFloats("kspace"))  // complex is not real
        XCTAssertThrowsError(try f.readComplex("nothing")) { e in
            XCTAssertEqual(e as? GantryError, .missingDataset(path: f.path, name: "nothing"))
        }
    }

    func testVolumeThroughHDF5KeepsGeometryAndIndexOrder() throws {
        let dir = try TempDir()
        let v = try NIfTI.read(Fixtures.nifti("oblique_qform_only.nii"))
        try VolumeFile.convert(Fixtures.nifti("oblique_qform_only.nii"), to: dir.file("v.h5"))
        let f = try HDF5File(readingFrom: dir.file("v.h5"))
        let (shape, c) = try f.readFloats("image")
        XCTAssertEqual(shape, [5, 6, 7])
        // h5py index [i, j, k] (C order: k fastest) equals the voxel (i, j, k)
        XCTAssertEqual(c[(2 * 6 + 3) * 7 + 4], v[2, 3, 4])
        let back = try VolumeHDF5.read(dir.file("v.h5"))
        XCTAssertEqual(back.data, v.data)
        XCTAssertEqual(back.affine, v.affine)
        // and back to NIfTI with the same affine and codes
        try VolumeFile.convert(dir.file("v.h5"), to: dir.file("v.nii.gz"))
        let again = try NIfTI.read(dir.file("v.nii.gz"))
        XCTAssertLessThan(again.affine.maxDifference(v.affine), 1e-6)
        XCTAssertEqual(again.header?.qformCode, 1)
        XCTAssertEqual(again.data, v.data)
    }

    func testComplexStaysComplexThroughConvert() throws {
        let dir = try TempDir()
        try VolumeFile.convert(Fixtures.nifti("dtype_complex64.nii"), to: dir.file("c.h5"))
        try VolumeFile.convert(dir.file("c.h5"), to: dir.file("c.nii"))
        let a = try NIfTI.readComplex(Fixtures.nifti("dtype_complex64.nii"))
        let b = try NIfTI.readComplex(dir.file("c.nii"))
        XCTAssertEqual(a.data, b.data)
    }

    func testFourDThroughHDF5() throws {
        let dir = try TempDir()
        try VolumeFile.convert(Fixtures.nifti("fourd_float32.nii.gz"), to: dir.file("4d.h5"))
        let a = try NIfTI.read(Fixtures.nifti("fourd_float32.nii.gz"))
        let b = try VolumeHDF5.read(dir.file("4d.h5"))
        XCTAssertEqual(b.shape, [4, 5, 3, 3])
        XCTAssertEqual(a.data, b.data)
    }

    /// `.nii → .h5 → .nii` keeps the stored datatype (a uint8 label map stays uint8, compressed),
    /// the qform/sform codes and the description; values and affine are unchanged.
    func testNIfTIThroughHDF5AndBackKeepsDatatypeCodesAndDescription() throws {
        let dir = try TempDir()
        for (name, type) in [("dtype_uint8.nii", NIfTIDataType.uint8), ("sform_only_shear.nii.gz", .float32), ("dtype_int16.nii", .int16)] {
            var v = try NIfTI.read(Fixtures.nifti(name))
            v.header?.descrip = "labels from \(name)"
            let h5 = dir.file(name + ".h5"), back = dir.file(name + ".back.nii.gz")
            try VolumeFile.write(v, to: h5)
            XCTAssertEqual(try HDF5File(readingFrom: h5).datasetInfo("image").type, type.name, name)
            try VolumeFile.convert(h5, to: back)
            let w = try NIfTI.read(back)
            XCTAssertEqual(w.header?.datatype, type.rawValue, name)
            XCTAssertEqual(w.header?.qformCode, v.header?.qformCode, name)
            XCTAssertEqual(w.header?.sformCode, v.header?.sformCode, name)
            XCTAssertEqual(w.header?.descrip, "labels from \(name)", name)
            XCTAssertEqual(w.data, v.data, name)
            XCTAssertLessThan(w.affine.maxDifference(v.affine), 1e-5, name)
        }
        // Compressed: a constant uint8 map of 64³ takes far less than its 262 kB.
        let labels = try Volume(shape: [64, 64, 64], affine: .identity, data: [Float](repeating: 3, count: 64 * 64 * 64))
        var h = StoredHeader(); h.datatype = NIfTIDataType.uint8.rawValue
        var withHeader = labels; withHeader.header = h
        try VolumeFile.write(withHeader, to: dir.file("const.h5"))
        let size = try FileManager.default.attributesOfItem(atPath: dir.file("const.h5"))[.size] as? Int ?? 0
        XCTAssertLessThan(size, 40_000)
    }
}
