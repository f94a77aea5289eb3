import Foundation
@testable import GantryIO
import XCTest

final class PNGTests: XCTestCase {
    func testEncodesValidPNG() throws {
        let w = 5, h = 3
        let gray = (0..<(w * h)).map { UInt8($0 * 10) }
        let png = try PNG.encode(width: w, height: h, pixels: gray, rgb: false)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height big-endian at bytes 16…23, bit depth 8, colour type 0 (gray)
        XCTAssertEqual(Array(png[16..<24]), [0, 0, 0, 5, 0, 0, 0, 3])
        XCTAssertEqual(png[24], 8)
        XCTAssertEqual(png[25], 0)
        let rgb = try PNG.encode(width: w, height: h, pixels: [UInt8](repeating: 200, count: w * h * 3), rgb: true)
        XCTAssertEqual(rgb[25], 2)
        XCTAssertThrowsError(try PNG.encode(width: w, height: h, pixels: gray, rgb: true))
    }
}
