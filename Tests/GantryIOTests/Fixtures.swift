import Foundation
import XCTest

/// Paths and expected values of the committed fixtures (made by scripts/fixtures/make_io_fixtures.py
/// with nibabel and h5py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func nifti(_ name: String) -> String { root.appendingPathComponent("nifti/\(name)").path }
    static func hdf5(_ name: String) -> String { root.appendingPathComponent("hdf5/\(name)").path }

    static func expected(_ folder: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("\(folder)/expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// A fresh temporary folder, removed at the end of the test.
final class TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "gantry-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    /// Every entry in the folder (including hidden temporary files).
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? [] }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
