import XCTest

/// Largest absolute difference between two outputs, relative to the reference's largest magnitude
/// (the measure the fast-path tests bound: Winograd, direct convolution).
func relativeError(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    let scale = b.map { abs($0) }.max() ?? 1
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / max(scale, 1e-12) } ?? 0
}
