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

    /// Components of the whole mask smaller than the volume go; a lesion whose labels touch counts
    /// as one (its 1-voxel enhancing part stays); voxel volume comes from the affine (2 mm: 8 mm³).
    func testSmallComponentsAreRemovedByVolume() throws {
        var data = [Float](repeating: 0, count: 10 * 10 * 10)
        func set(_ x: Int, _ y: Int, _ z: Int, _ v: Float) { data[(z * 10 + y) * 10 + x] = v }
        for x in 1...3 { for y in 1...3 { for z in 1...3 { set(x, y, z, 2) } } }   // 27 voxels = 216 mm³
        set(4, 2, 2, 3)                                                          // touching: part of it
        set(8, 8, 8, 1); set(8, 8, 7, 1)                                         // 2 voxels = 16 mm³, apart
        let v = try Volume(shape: [10, 10, 10], affine: .scaling([2, 2, 2]), data: data)
        let out = try v.removingSmallComponents(minimumMM3: 100)
        XCTAssertEqual(out.data.filter { $0 == 2 }.count, 27)
        XCTAssertEqual(out.data.filter { $0 == 3 }.count, 1)
        XCTAssertEqual(out.data.filter { $0 == 1 }.count, 0)
        XCTAssertEqual(out.affine, v.affine)
        XCTAssertEqual(try v.removingSmallComponents(minimumMM3: 16).data, data, "16 mm³ is not smaller than 16 mm³")
        XCTAssertEqual(try v.removingSmallComponents(minimumMM3: 300).data.filter { $0 != 0 }.count, 0)
    }
}
