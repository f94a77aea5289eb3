import GantryCore
import XCTest

final class ArrayLayoutTests: XCTestCase {
    func testReversingAxesMatchesIndexFormula() {
        let shape = [3, 4, 5, 2]
        let data = (0..<120).map(Float.init)
        let c = ArrayLayout.reversingAxes(data, shape: shape)
        for t in 0..<2 { for k in 0..<5 { for j in 0..<4 { for i in 0..<3 {
            let f = i + 3 * (j + 4 * (k + 5 * t))          // first index fastest
            let cIndex = ((i * 4 + j) * 5 + k) * 2 + t      // last index fastest
            XCTAssertEqual(c[cIndex], data[f])
        } } } }
        XCTAssertEqual(ArrayLayout.reversingAxes(c, shape: shape.reversed()), data)
    }
}
