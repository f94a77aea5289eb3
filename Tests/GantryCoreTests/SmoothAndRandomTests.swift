import GantryCore
import XCTest

final class SmoothAndRandomTests: XCTestCase {
    func testSmoothingKeepsConstantsAndMass() throws {
        let c = try Volume(shape: [9, 8, 7], affine: .scaling([1, 2, 1.5]), filledWith: 3)
        let s = try c.gaussianSmoothed(sigmaMM: [2, 2, 2])
        for v in s.data { XCTAssertEqual(v, 3, accuracy: 1e-5) }
        // an impulse far from edges spreads with total mass kept and the right variance along x
        var d = try Volume(shape: [41, 5, 5], affine: .identity, filledWith: 0)
        d[20, 2, 2] = 1
        let g = try d.gaussianSmoothed(sigmaMM: [2.5, 0, 0])
        let row = (0..<41).map { Double(g[$0, 2, 2]) }
        XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
        let variance = row.enumerated().reduce(0.0) { $0 + $1.element * Double(($1.offset - 20) * ($1.offset - 20)) }
        XCTAssertEqual(variance, 6.25, accuracy: 0.05)
    }

    func testSeededRandomIsReproducibleAndSane() {
        var a = SeededRandom(seed: 7), b = SeededRandom(seed: 7), c = SeededRandom(seed: 8)
        let xa = (0..<5).map { _ in a.next() }, xb = (0..<5).map { _ in b.next() }, xc = (0..<5).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
        var g = SeededRandom(seed: 1)
        let n = (0..<20000).map { _ in g.normal() }
        let mean = n.reduce(0, +) / 20000
        let variance = n.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 20000
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
        var s1 = SeededRandom(seed: 3, stream: 1), s2 = SeededRandom(seed: 3, stream: 2)
        XCTAssertNotEqual(s1.next(), s2.next())
    }
}
