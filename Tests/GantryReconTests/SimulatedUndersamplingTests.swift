import GantryCore
@testable import GantryRecon
import XCTest

/// Simulated undersampling against what sampling theory says it must give.
final class SimulatedUndersamplingTests: XCTestCase {
    /// A point in a slice; every other phase-encoding line kept (no centre): the zero-filled image is
    /// the point at half its height plus its alias half a field of view away along x, nothing else.
    /// All lines kept: the image itself. Geometry kept.
    func testEveryOtherLineAliasesHalfAFieldOfViewAway() throws {
        let (nx, ny, nz) = (16, 12, 2)
        var image = try Volume(shape: [nx, ny, nz], affine: Affine.scaling([2, 2, 3]), filledWith: 0)
        image.data[1 * nx * ny + 5 * nx + 3] = 8   // z 1, y 5, x 3
        let full = try SimulatedUndersampling.zeroFilled(image, mask: SamplingMask(kind: .equispaced, acceleration: 1, centerFraction: 1))
        for (a, b) in zip(full.data, image.data) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(full.affine, image.affine)
        let half = try SimulatedUndersampling.zeroFilled(image, mask: SamplingMask(kind: .equispaced, acceleration: 2, centerFraction: 0))
        for z in 0..<nz { for y in 0..<ny { for x in 0..<nx {
            let expected: Float = z == 1 && y == 5 && (x == 3 || x == 3 + nx / 2) ? 4 : 0
            XCTAssertEqual(half.data[(z * ny + y) * nx + x], expected, accuracy: 1e-4, "x \(x) y \(y) z \(z)")
        } } }
    }

    /// Each slice draws its own mask (seed + z): identical slices alias differently under a random
    /// mask, and the same seed gives the same volume.
    func testSlicesDrawTheirOwnMasksDeterministically() throws {
        let (nx, ny) = (32, 32)
        var image = try Volume(shape: [nx, ny, 2], filledWith: 0)
        for y in 8..<24 { for x in 10..<20 { image.data[y * nx + x] = 1; image.data[nx * ny + y * nx + x] = 1 } }
        let mask = SamplingMask(kind: .random, acceleration: 4, centerFraction: 0.08, seed: 9)
        let a = try SimulatedUndersampling.zeroFilled(image, mask: mask), b = try SimulatedUndersampling.zeroFilled(image, mask: mask)
        XCTAssertEqual(a.data, b.data)
        XCTAssertNotEqual(Array(a.data[0..<(nx * ny)]), Array(a.data[(nx * ny)...]))
        XCTAssertThrowsError(try SimulatedUndersampling.zeroFilled(try Volume(shape: [1, 8, 4], filledWith: 1), mask: mask))
    }
}
