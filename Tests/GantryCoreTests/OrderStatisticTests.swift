import GantryCore
import XCTest

final class OrderStatisticTests: XCTestCase {
    /// Equals sorting and indexing, for every k, on values with many ties (a masked image's zeros),
    /// sorted and reversed inputs, and a single value.
    func testEqualsSortedIndex() {
        var rng = SeededRandom(seed: 5)
        let cases: [[Float]] = [
            (0..<257).map { _ in Float(Int(rng.uniform() * 9)) },
            (0..<300).map { i in i % 3 == 0 ? 0 : Float(rng.uniform()) },
            (0..<100).map(Float.init),
            (0..<100).reversed().map(Float.init),
            [Float](repeating: 2, count: 50),
            [7],
        ]
        for values in cases {
            let sorted = values.sorted()
            for k in values.indices { XCTAssertEqual(values.orderStatistic(k), sorted[k], "k \(k) of \(values.count)") }
        }
    }
}
