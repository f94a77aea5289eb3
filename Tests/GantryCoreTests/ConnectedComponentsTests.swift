import Foundation
@testable import GantryCore
import XCTest

final class ConnectedComponentsTests: XCTestCase {
    /// A chain of voxels touching by a face, an edge and a corner: 6-connectivity splits it at the
    /// edge and the corner, 18 at the corner only, 26 not at all; components in scan order.
    func testConnectivityDefinitions() {
        var mask = [Bool](repeating: false, count: 27)
        mask[0] = true                 // (0,0,0)
        mask[1 + 3] = true             // (1,1,0): shares an edge with (0,0,0)
        mask[2 + 3 * 2 + 9 * 1] = true // (2,2,1): shares a corner with (1,1,0)
        mask[2 + 3 * 2 + 9 * 2] = true // (2,2,2): shares a face with (2,2,1)
        XCTAssertEqual(ConnectedComponents.label(mask, shape: [3, 3, 3], connectivity: .faces).sizes, [1, 1, 2])
        XCTAssertEqual(ConnectedComponents.label(mask, shape: [3, 3, 3], connectivity: .edges).sizes, [2, 2])
        let full = ConnectedComponents.label(mask, shape: [3, 3, 3], connectivity: .full)
        XCTAssertEqual(full.sizes, [4])
        XCTAssertEqual(Set(full.labels.enumerated().filter { mask[$0.offset] }.map(\.element)), [1])
    }

    /// MONAI's KeepLargestConnectedComponent (independent) on a random many-island label map, for
    /// each connectivity (scripts/fixtures/make_component_fixtures.py).
    func testMatchesMONAIKeepLargestConnectedComponent() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/largest_component.json")
        let f = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let shape = try XCTUnwrap(f["shape"] as? [Int]), input = try XCTUnwrap(f["input"] as? [Int])
        let affine = Affine(rows: [[0, -1.5, 0, 10], [1.2, 0, 0, -4], [0, 0, 2, 3], [0, 0, 0, 1]])
        let v = try Volume(shape: shape, affine: affine, data: input.map(Float.init))
        for (key, c) in [("faces", ConnectedComponents.Connectivity.faces), ("edges", .edges), ("full", .full)] {
            let expected = try XCTUnwrap(f[key] as? [Int])
            let out = try v.keepingLargestComponent(connectivity: c)
            XCTAssertEqual(out.data.map { Int($0) }, expected, key)
            XCTAssertNotEqual(expected, input, "\(key): the fixture has islands to remove")
            XCTAssertEqual(out.affine, affine)
        }
        // Only the listed labels are cleaned.
        let only1 = try v.keepingLargestComponent(labels: [1])
        for i in input.indices where input[i] != 1 { XCTAssertEqual(Int(only1.data[i]), input[i]) }
    }
}
