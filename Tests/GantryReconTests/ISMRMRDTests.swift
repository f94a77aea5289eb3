import Foundation
import GantryCore
import GantryIO
@testable import GantryRecon
import XCTest

/// ISMRMRD raw data made by Debian's ismrmrd-tools (scripts/fixtures/make_ismrmrd_fixtures.sh),
/// checked against the reference reconstruction ismrmrd_recon_cartesian_2d stored in each file.
final class ISMRMRDTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ismrmrd").path

    /// The reference image [y][x] (phase encode × readout, as ISMRMRD stores images).
    func reference(_ name: String) throws -> (data: [Float], shape: [Int]) {
        let f = try HDF5File(readingFrom: Self.dir + "/" + name)
        let r = try f.readFloats("dataset/cpp/data")
        return (r.data, Array(r.shape.suffix(2)))
    }

    func testZeroFilledMatchesTheReferenceReconstruction() throws {
        for name in ["fully.h5"] {
            let file = try KSpaceFile.read(Self.dir + "/" + name)
            XCTAssertEqual(file.shape, [1, 4, 64, 32], name)  // readout kept oversampled until after the FFT
            let result = try Reconstructor.run(file, options: ReconOptions(method: .zeroFilled))
            XCTAssertEqual([result.ny, result.nx], [32, 32], "cropped to reconSpace")
            let (ref, shape) = try reference(name)
            XCTAssertEqual(shape, [32, 32])
            // Gantry's image is [readout][phase encode]; ISMRMRD's [phase encode][readout]. Its FFT is
            // unnormalised where Gantry's is orthonormal: a factor √(encoded readout × lines).
            let scale = Float((64.0 * 32.0).squareRoot())
            var worst: Float = 0
            for y in 0..<32 { for x in 0..<32 { worst = max(worst, abs(result.images[x * 32 + y] * scale - ref[y * 32 + x])) } }
            XCTAssertLessThan(worst / (ref.max() ?? 1), 1e-4, name)
        }
        // 2× interleaved: two repetitions, each every other line plus the calibration lines.
        let accel = try KSpaceFile.read(Self.dir + "/accel.h5")
        XCTAssertEqual(accel.shape, [2, 4, 64, 32])
        XCTAssertTrue(accel.masksDifferBetweenSlices)
        for rep in 0..<2 {
            var lines = 0
            for y in 0..<32 where (0..<64).contains(where: { x in accel.kspace[2 * ((rep * 4 * 64 + x) * 32 + y)] != 0 }) { lines += 1 }
            XCTAssertTrue((16...24).contains(lines), "repetition \(rep): \(lines) lines")
        }
        XCTAssertNoThrow(try Reconstructor.run(accel, options: ReconOptions(method: .zeroFilled)))
        XCTAssertThrowsError(try Reconstructor.run(accel, options: ReconOptions(method: .csL1))) { e in
            XCTAssertTrue("\(e)".contains("sample different phase-encode lines"), "\(e)")
        }
    }

    func testNonCartesianIsRefusedNamingTheTrajectory() {
        XCTAssertThrowsError(try KSpaceFile.read(Self.dir + "/radial.h5")) { e in
            XCTAssertTrue("\(e)".contains("radial trajectory"), "\(e)")
        }
    }
}
