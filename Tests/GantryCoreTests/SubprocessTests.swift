import XCTest
@testable import GantryCore

final class SubprocessTests: XCTestCase {
    /// The peak is the child's own: a child holding a 200 MB buffer reports at least that, and a
    /// small child spawned by a caller that has touched 600 MB reports far less than the caller
    /// (wait4's figure would report the caller's 600 MB for both). Only the child itself is counted, not
    /// programs it starts.
    func testPeakMemoryIsTheChildsOwn() throws {
        let ballast = UnsafeMutablePointer<UInt8>.allocate(capacity: 600_000_000)
        defer { ballast.deallocate() }
        for i in stride(from: 0, to: 600_000_000, by: 4096) { ballast[i] = UInt8(truncatingIfNeeded: i) }
        // perl-base is in every Debian install
        let large = try Subprocess.run("/usr/bin/perl", ["-e", "$x = 'x' x 200000000; select(undef, undef, undef, 0.2)"], timeout: 60)
        let small = try Subprocess.run("/bin/sh", ["-c", "sleep 0.1"], timeout: 60)
        XCTAssertEqual(large.status, 0); XCTAssertEqual(small.status, 0)
        XCTAssertGreaterThan(small.peakBytes, 0, "the child's high-water mark was never read")
        XCTAssertLessThan(small.peakBytes, 50_000_000, "a shell sleeping is charged \(small.peakBytes / 1_000_000) MB")
        XCTAssertGreaterThan(large.peakBytes, 200_000_000)
        XCTAssertLessThan(large.peakBytes, 600_000_000, "perl is charged with the caller's ballast")
        _ = ballast[4096]
    }
}
