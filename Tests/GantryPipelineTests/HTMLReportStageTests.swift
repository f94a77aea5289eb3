@testable import GantryPipeline
import XCTest

/// The report's plot axes: gridlines at round values, each label printing its value exactly.
final class HTMLReportStageTests: XCTestCase {
    func testAxisTicksAreRoundValuesPrintedExactly() {
        func labels(_ lo: Double, _ hi: Double) -> [String] {
            let (values, digits) = HTMLReportStage.axisTicks((lo, hi))
            return values.map { String(format: "%.\(digits)f", $0) }
        }
        XCTAssertEqual(labels(22, 40), ["25", "30", "35", "40"])
        XCTAssertEqual(labels(0.80, 0.95), ["0.80", "0.85", "0.90", "0.95"])
        XCTAssertEqual(labels(0.85, 1.0), ["0.85", "0.90", "0.95", "1.00"])
        XCTAssertEqual(labels(26, 28), ["26.0", "26.5", "27.0", "27.5", "28.0"])
        XCTAssertEqual(labels(0, 1), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(labels(20, 30), ["20", "22", "24", "26", "28", "30"])
        XCTAssertEqual(labels(0.9, 0.9), ["0.90"], "an empty range still has its value")
    }
}
