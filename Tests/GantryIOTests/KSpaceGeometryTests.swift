import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// The image geometry a k-space file may carry (image_affine, image_shape, slice_indices): written and
/// read back exactly, turned into the slab of the image grid it covers, and refused with a one-line
/// reason when it is incomplete or cannot describe the file.
final class KSpaceGeometryTests: XCTestCase {
    let affine = Affine(rowMajor: [-2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72, 0, 0, 0, 1])

    func file(slices: Int = 3) throws -> KSpaceFile {
        var f = try KSpaceFile(shape: [slices, 2, 6, 5], kspace: [Float](repeating: 0.5, count: 2 * slices * 2 * 6 * 5))
        f.geometry = KSpaceGeometry(affine: affine, imageShape: [5, 6, 9], sliceIndices: Array(4..<(4 + slices)))
        return f
    }

    func testRoundTripAndTheSlabItCovers() throws {
        let path = NSTemporaryDirectory() + "gantry-geom-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try file().write(path)
        let back = try KSpaceFile.read(path)
        XCTAssertEqual(back.geometry, try file().geometry)
        // Pixel (row r, column c) of slice s is voxel (c, r, 4 + s): the slab starts 4 planes up.
        let v = try XCTUnwrap(back.geometry).volume(images: [Float](repeating: 1, count: 3 * 6 * 5), rows: 6, columns: 5)
        XCTAssertEqual(v.spatialShape, [5, 6, 3])
        let (x, y, z) = v.affine.apply((0, 0, 0))
        XCTAssertEqual([x, y, z], [90, -126, -64])
        XCTAssertThrowsError(try XCTUnwrap(back.geometry).volume(images: [Float](repeating: 1, count: 3 * 5 * 6), rows: 5, columns: 6)) {
            XCTAssertTrue("\($0)".contains("the image grid it belongs to is 6×5"), "\($0)")
        }
        var gaps = try XCTUnwrap(back.geometry); gaps.sliceIndices = [0, 2, 4]
        XCTAssertThrowsError(try gaps.volume(images: [Float](repeating: 1, count: 90), rows: 6, columns: 5)) {
            XCTAssertTrue("\($0)".contains("are not consecutive image planes"), "\($0)")
        }
    }

    func testBadGeometryAttributesAreOneLineErrors() throws {
        func check(_ attributes: [(String, HDF5Value)], _ phrase: String, line: UInt = #line) throws {
            let path = NSTemporaryDirectory() + "gantry-geom-\(UUID().uuidString).h5"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try HDF5Writer.create(path) { f in
                try f.writeComplex("kspace", shape: [3, 2, 6, 5], data: [Float](repeating: 0, count: 2 * 180))
                for (name, value) in attributes { try f.setAttribute(name, value) }
            }
            XCTAssertThrowsError(try KSpaceFile.read(path), line: line) { e in
                XCTAssertTrue("\(e)".contains(phrase), "'\(e)' lacks '\(phrase)'", line: line)
                XCTAssertFalse("\(e)".contains("\n"), line: line)
            }
        }
        let good: [(String, HDF5Value)] = [("image_affine", .doubles(affine.m)), ("image_shape", .doubles([5, 6, 9])), ("slice_indices", .doubles([4, 5, 6]))]
        try check(Array(good.prefix(2)), "has image_affine, image_shape but not slice_indices")
        try check([good[0], good[1], ("slice_indices", .doubles([4, 5]))], "one image z index in 0..<9 for each of the 3 k-space slices")
        try check([good[0], good[1], ("slice_indices", .doubles([7, 8, 9]))], "one image z index in 0..<9")
        try check([good[0], ("image_shape", .doubles([5, 6, 1e9])), good[2]], "image_shape must be three whole numbers 1…65536")
        try check([("image_affine", .doubles(Array(affine.m.prefix(12)))), good[1], good[2]], "image_affine must be 16 finite numbers")
        try check([("image_affine", .doubles([Double.nan] + affine.m.dropFirst())), good[1], good[2]], "image_affine must be 16 finite numbers")
        try check([("image_affine", .doubles([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])), good[1], good[2]], "image_affine is singular")
        try check([("image_affine", .string("eye(4)")), good[1], good[2]], "attribute image_affine is text, not numbers")
    }
}
