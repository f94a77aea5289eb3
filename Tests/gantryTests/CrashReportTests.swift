import Foundation
import GantryTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A crash ends the command promptly even when its output goes to pipes: nothing (such as the Swift
/// runtime's backtracer) keeps the caller waiting once the process has died.
final class CrashReportTests: XCTestCase {
    func testACrashClosesTheCallersPipesWithinSeconds() throws {
        // A command busy for many seconds (whole-head Colin27 registered to itself, deformable),
        // hit by SIGSEGV after a second, as a memory fault in a kernel would hit it.
        let colin = "/usr/share/mricron/templates/ch2.nii.gz"
        XCTAssertTrue(FileManager.default.fileExists(atPath: colin), "mricron-data (make deps) provides \(colin)")
        let dir = try TempDir()
        for signal in [SIGSEGV, SIGILL] {
            let r = try CLI.run(["register", "--fixed", colin, "--moving", colin, "--type", "syn", "--out", dir.path + "/reg"],
                                timeout: 60, signal: (signal, after: 1.5))
            XCTAssertEqual(r.signal, signal, "the process ends by the signal (exit status tells the caller): \(r.stderr.suffix(300))")
            XCTAssertFalse(r.timedOut, "stdout/stderr stayed open after the crash")
            XCTAssertLessThan(r.seconds, 10)
            XCTAssertTrue(r.stderr.contains("gantry: crashed"), r.stderr.suffix(300).description)
            XCTAssertFalse(r.stderr.contains("Backtracing"), "the runtime backtracer ran")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/reg"), "a crashed register left outputs")
        }
    }
}
