import Foundation
import GantryCore
@testable import GantryIO
import XCTest

/// `gantry convert` to and from BART's `.cfl`/`.hdr`: complex images stay complex, real volumes gain
/// a zero imaginary part, the memory order is BART's (x fastest), and what is not one image is refused.
final class BARTVolumeTests: XCTestCase {
    func temp(_ name: String) -> String { NSTemporaryDirectory() + "gantry-bart-\(UUID().uuidString)-\(name)" }

    func testComplexImagesConvertBothWays() throws {
        let dims = [3, 4, 2]
        let data = (0..<(2 * 24)).map { Float($0) * 0.25 - 3 }
        let cfl = temp("img")
        try BARTFile.write(cfl, dims: dims, data: data)
        let nii = temp("img.nii.gz")
        try VolumeFile.convert(cfl + ".cfl", to: nii)
        let c = try NIfTI.readComplex(nii)
        XCTAssertEqual(c.shape, dims)
        XCTAssertEqual(c.data, data, "voxel (x, y, z) is BART's element x + 3·(y + 4·z)")
        let back = temp("back")
        try VolumeFile.convert(nii, to: back + ".cfl")
        XCTAssertEqual(try BARTFile.read(back).data, data)
        XCTAssertEqual(try BARTFile.read(back).dims.prefix(3), [3, 4, 2])
        // slices in BART's slice dimension (13) are the volume's z
        var sliced = Array(repeating: 1, count: 14); sliced[0] = 3; sliced[1] = 4; sliced[13] = 2
        try BARTFile.write(cfl, dims: sliced, data: data)
        XCTAssertEqual(try VolumeFile.readBART(cfl + ".cfl").shape, [3, 4, 2])
        for f in [cfl, back] { for e in [".cfl", ".hdr"] { try? FileManager.default.removeItem(atPath: f + e) } }
        try? FileManager.default.removeItem(atPath: nii)
    }

    func testRealVolumesAndRefusals() throws {
        let v = try Volume(shape: [2, 3, 2], affine: .scaling([2, 2, 3]), data: (0..<12).map(Float.init))
        let nii = temp("real.nii.gz"), cfl = temp("real")
        try NIfTI.write(v, to: nii)
        try VolumeFile.convert(nii, to: cfl + ".cfl")
        let (dims, data) = try BARTFile.read(cfl)
        XCTAssertEqual(Array(dims.prefix(3)), [2, 3, 2])
        XCTAssertEqual(stride(from: 0, to: data.count, by: 2).map { data[$0] }, v.data)
        XCTAssertTrue(stride(from: 1, to: data.count, by: 2).allSatisfy { data[$0] == 0 })
        XCTAssertEqual(try VolumeFile.read(cfl + ".hdr").data, v.data, "read as a volume: the magnitude")
        // multi-coil k-space is not an image
        try BARTFile.write(cfl, dims: [2, 3, 1, 4], data: [Float](repeating: 1, count: 48))
        XCTAssertThrowsError(try VolumeFile.convert(cfl + ".cfl", to: temp("k.nii.gz"))) {
            XCTAssertTrue("\($0)".contains("are not one image [x, y, z] (combine coils/maps with bart first)"), "\($0)")
        }
        for e in [".cfl", ".hdr"] { try? FileManager.default.removeItem(atPath: cfl + e) }
        try? FileManager.default.removeItem(atPath: nii)
    }
}
