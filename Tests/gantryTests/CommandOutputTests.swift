import Foundation
import GantryTestSupport
import XCTest

/// Scripting: `--json` on info, recon, register and dice parses as JSON with the facts a script
/// needs; `-q` leaves only results (and warnings); printed times are the command's.
final class CommandOutputTests: XCTestCase {
    static let corpus = BadInputCorpusTests.corpus
    static let fastmri = ReconCommandTests.fixtures

    func json(_ args: [String]) throws -> Any {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 0, "\(args.first ?? ""): \(r.stderr.suffix(300))")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    func testJSONOutputs() throws {
        let dir = try TempDir()
        let info = try XCTUnwrap(try json(["info", "--json", Self.corpus + "/good.nii.gz", Self.fastmri + "/brain_as_published.h5"]) as? [[String: Any]])
        XCTAssertEqual(info.count, 2)
        XCTAssertEqual(info[0]["shape"] as? [Int], [24, 28, 20])
        XCTAssertEqual(info[0]["spacing_mm"] as? [Double], [2, 2, 2])
        XCTAssertEqual(info[0]["orientation"] as? String, "RAS")
        XCTAssertTrue((info[1]["contents"] as? [[String: Any]])?.contains { $0["path"] as? String == "/kspace" && $0["shape"] as? [Int] == [3, 4, 64, 32] } ?? false)

        let recon = try XCTUnwrap(try json(["recon", "--json", "--in", Self.fastmri + "/brain_as_published.h5", "--out", dir.path + "/r.nii.gz"]) as? [String: Any])
        XCTAssertEqual(recon["shape"] as? [Int], [3, 32, 32])
        XCTAssertLessThan(try XCTUnwrap(recon["nmse"] as? Double), 1e-6)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(recon["command_seconds"] as? Double), try XCTUnwrap(recon["reconstruction_seconds"] as? Double))

        let reg = try XCTUnwrap(try json(["register", "--json", "-q", "--fixed", Self.corpus + "/good.nii.gz", "--moving", Self.corpus + "/good_moving.nii.gz",
                                           "--type", "rigid", "--out", dir.path + "/reg"]) as? [String: Any])
        XCTAssertEqual(reg["type"] as? String, "rigid")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(reg["command_seconds"] as? Double), try XCTUnwrap(reg["seconds"] as? Double))

        let dice = try XCTUnwrap(try json(["dice", "--json", "--pred", Self.corpus + "/good.nii.gz", "--ref", Self.corpus + "/good.nii.gz", "--labels", "1"]) as? [String: Any])
        XCTAssertNotNil(dice["1"])
    }

    func testQuietLeavesOnlyResults() throws {
        let dir = try TempDir()
        let loud = try CLI.run(["recon", "--in", Self.fastmri + "/brain_as_published.h5", "--out", dir.path + "/a.nii.gz"])
        let quiet = try CLI.run(["recon", "-q", "--in", Self.fastmri + "/brain_as_published.h5", "--out", dir.path + "/b.nii.gz"])
        XCTAssertTrue(loud.stderr.contains("slice 1/3 done"), loud.stderr)
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertTrue(quiet.stdout.hasPrefix("zf: 3 slice(s)"), quiet.stdout)
        let both = try CLI.run(["recon", "-q", "-v", "--in", Self.fastmri + "/brain_as_published.h5", "--out", dir.path + "/c.nii.gz"])
        XCTAssertEqual(both.status, 64)
    }
}
