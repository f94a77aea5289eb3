import Foundation
@testable import GantryIO
import XCTest

/// Gantry's HDF5 reader against h5py (libhdf5 2.0) on files in every layout it claims
/// (scripts/fixtures/make_hdf5_layout_fixtures.py): contiguous, compact and chunked storage
/// (version-1 B-tree, single chunk, implicit, fixed-array (paged or not), extensible-array (with
/// super blocks, unlimited axis first or not) and version-2 B-tree indexes), deflate,
/// shuffle and Fletcher-32, chunks never written, every integer and float type in both byte
/// orders, complex compounds, strings, nested groups, soft links, a committed datatype, a user
/// block, the latest format's version-2 headers, link messages and dense storage — each dataset's
/// shape, type and values and each attribute as h5py reads them.
final class HDF5LayoutTests: XCTestCase {
    static let folder = "hdf5/layouts"

    func testEveryLayoutReadsAsH5pyReadsIt() throws {
        let expected = try Fixtures.expected(Self.folder)
        var datasets = 0, attributes = 0
        for (name, entry) in expected where name.hasSuffix(".h5") {
            let e = try XCTUnwrap(entry as? [String: Any])
            let f = try HDF5File(readingFrom: Fixtures.hdf5("layouts/" + name))
            for (path, value) in try XCTUnwrap(e["datasets"] as? [String: [String: Any]]) {
                let what = "\(name):\(path)"
                let info = try f.datasetInfo(path)
                XCTAssertEqual(info.shape, value["shape"] as? [Int], what)
                XCTAssertEqual(info.type, value["type"] as? String, what)
                if let s = value["string"] as? String {
                    XCTAssertEqual(try f.readString(path), s, what)
                } else {
                    let values = try XCTUnwrap(value["values"] as? [Double], what).map(Float.init)
                    let read = info.type.hasPrefix("complex") ? try f.readComplex(path) : try f.readFloats(path)
                    XCTAssertEqual(read.shape, info.shape, what)
                    XCTAssertEqual(read.data, values, what)
                }
                datasets += 1
            }
            for (object, attrs) in try XCTUnwrap(e["attributes"] as? [String: [String: [String: Any]]]) {
                let listed = Dictionary(uniqueKeysWithValues: f.attributes(of: object).map { ($0.0, $0.1) })
                XCTAssertEqual(Set(listed.keys), Set(attrs.keys), "\(name):\(object)")
                for (key, v) in attrs {
                    let want: HDF5Value
                    if let s = v["string"] as? String { want = .string(s) }
                    else if let i = v["int"] as? Int { want = .int(i) }
                    else if let d = v["double"] as? Double { want = .double(d) }
                    else { want = .doubles(try XCTUnwrap(v["doubles"] as? [Double])) }
                    XCTAssertEqual(try f.attribute(key, of: object), want, "\(name):\(object)@\(key)")
                    XCTAssertEqual(listed[key] ?? nil, want, "\(name):\(object)@\(key) listed")
                    attributes += 1
                }
            }
        }
        // Every file of the script was read (a fixture silently missing would pass the loops).
        XCTAssertEqual(datasets, 167)
        XCTAssertEqual(attributes, 44)
    }

    /// Soft links resolve to their target (tree lists them as links); the tree of a dense group
    /// lists all 120 datasets.
    func testLinksAndTrees() throws {
        let f = try HDF5File(readingFrom: Fixtures.hdf5("layouts/contiguous_types.h5"))
        XCTAssertEqual(try f.readFloats("link_to_data").data, try f.readFloats("nested/deeper/deepest/data").data)
        XCTAssertEqual(f.tree().first { $0.path == "/link_to_data" }?.type, "soft link")
        XCTAssertFalse(f.contains("nested/nothing"))
        XCTAssertThrowsError(try f.readFloats("nested")) { XCTAssert("\($0)".contains("not a dataset"), "\($0)") }
        let dense = try HDF5File(readingFrom: Fixtures.hdf5("layouts/dense.h5"))
        XCTAssertEqual(dense.tree().filter { $0.path.hasPrefix("/many/d") }.count, 120)
        XCTAssertEqual(try dense.readFloats("many/d117").data, [117, -117])
    }

    /// A dataset of several large deflated chunks (decoded on all cores, each into its own part
    /// of the output) reads back as libhdf5 wrote it, in every chunk and edge.
    func testLargeChunkedDatasetReadsBackAsWritten() throws {
        let dir = try TempDir()
        let shape = [200, 64, 64]
        let data = (0..<shape.reduce(1, *)).map { Float(($0 * 7919) % 1000) / 8 - 20 }
        try HDF5Writer.create(dir.file("c.h5")) { try $0.writeFloats("image", shape: shape, data: data, storedAs: .float32, compressed: true) }
        let f = try HDF5File(readingFrom: dir.file("c.h5"))
        let o = try f.object("image")
        let storage = try HDF5Storage(messages: o.messages, dimensions: shape, elementSize: 4, file: f.structure)
        guard case .chunked(let chunk, _) = storage.layout else { return XCTFail("written chunked") }
        XCTAssertGreaterThanOrEqual(try storage.chunks(dimensions: shape, chunk: chunk, elementSize: 4, file: f.structure).count, 4)
        XCTAssertEqual(try f.readFloats("image").data, data)
    }

    /// A dataset with an empty axis reads as empty, with its shape.
    func testEmptyDatasetReadsEmpty() throws {
        let dir = try TempDir()
        try HDF5Writer.create(dir.file("e.h5")) { f in
            try f.writeFloats("empty", shape: [0, 4], data: [])
            try f.writeFloats("empty_chunked", shape: [0, 4], data: [], storedAs: .float32, compressed: true)
        }
        let f = try HDF5File(readingFrom: dir.file("e.h5"))
        for name in ["empty", "empty_chunked"] {
            let r = try f.readFloats(name)
            XCTAssertEqual(r.shape, [0, 4], name)
            XCTAssertEqual(r.data, [], name)
        }
    }

    /// What the reader does not decode is refused naming it, never read as garbage.
    func testUnsupportedFormsAreRefusedByName() throws {
        let expected = try XCTUnwrap(try Fixtures.expected(Self.folder)["refused"] as? [String: [String: String]])
        XCTAssertEqual(expected.count, 1)
        for (name, cases) in expected {
            let f = try HDF5File(readingFrom: Fixtures.hdf5("layouts/" + name))
            for (path, reason) in cases {
                XCTAssertThrowsError(try f.readFloats(path)) { error in
                    XCTAssert("\(error)".contains("unsupported") && "\(error)".contains(reason), "\(name):\(path): \(error)")
                }
            }
        }
    }
}
