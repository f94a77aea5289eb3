import Foundation
import GantryCore
@testable import GantryPipeline
import XCTest

/// The digest behind every cache key: FIPS 180-4's test vectors, pieces equal the whole, and files
/// hash as `sha256sum` hashes them.
final class SHA256Tests: XCTestCase {
    func testStandardVectors() throws {
        XCTAssertEqual(try SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = try SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(chunk) }
        XCTAssertEqual(million.finalize(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPiecesEqualTheWholeAndFilesMatchSha256sum() throws {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<(9 << 20) + 17).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var whole = try SHA256()
        whole.update(bytes)
        var pieces = try SHA256()
        var at = 0
        for size in [0, 1, 63, 64, 65, 4096, 1 << 20] + [Int](repeating: 1 << 21, count: 4) where at < bytes.count {
            let end = min(bytes.count, at + size)
            pieces.update(Array(bytes[at..<end]))
            at = end
        }
        pieces.update(Array(bytes[at...]))
        let digest = whole.finalize()
        XCTAssertEqual(pieces.finalize(), digest)
        let path = NSTemporaryDirectory() + "gantry-sha-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertEqual(try SHA256.file(path), digest, "read in pieces larger and smaller than the file's")
        let printed = try Subprocess.run("/usr/bin/sha256sum", [path], timeout: 60).stdout
        XCTAssertEqual(printed.split(separator: " ").first.map(String.init), digest)
        XCTAssertThrowsError(try SHA256.file(path + ".missing"))
    }
}
