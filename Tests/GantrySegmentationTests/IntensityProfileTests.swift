import Foundation
import GantryCore
@testable import GantrySegmentation
import XCTest

final class IntensityProfileTests: XCTestCase {
    func testQuantilesAndCorrelationsOfKnownChannels() {
        // Channel 0: 1…1000 (0 is background, left out); channel 1 = −channel 0; channel 2 = 2·channel 0.
        let a = (0...1000).map { Float($0) }
        let p = IntensityProfile(normalised: [a, a.map { -$0 }, a.map { 2 * $0 }])
        XCTAssertEqual(p.quantiles[0][3], 500, accuracy: 1)      // median
        XCTAssertEqual(p.quantiles[0][0], 11, accuracy: 1)       // 1 %
        XCTAssertEqual(p.quantiles[1][6], -11, accuracy: 1)      // 99 % of the negated channel
        XCTAssertEqual(p.correlations.count, 3)
        XCTAssertEqual(p.correlations[0], -1, accuracy: 1e-9)
        XCTAssertEqual(p.correlations[1], 1, accuracy: 1e-9)
        XCTAssertEqual(p.correlations[2], -1, accuracy: 1e-9)
    }

    func testOutliersAreFeaturesBeyondTheTrainingSpanAndItsMargin() throws {
        let levels = IntensityProfile.levels.count
        func profile(_ q: Double, _ c: Double) -> IntensityProfile {
            IntensityProfile(quantiles: [Array(repeating: q, count: levels), Array(repeating: q, count: levels)], correlations: [c])
        }
        let range = try IntensityRange(covering: [profile(0, 0.5), profile(2, 0.7)])
        XCTAssertEqual(range.subjects, 2)
        // Span 0…2: margin max(0.25·2, 0.5) = 0.5; correlations 0.5…0.7: margin max(0.05, 0.15) = 0.15.
        XCTAssertTrue(range.outliers(of: profile(2.4, 0.8), contrasts: ["A", "B"]).isEmpty)
        let out = range.outliers(of: profile(2.6, 0.9), contrasts: ["A", "B"])
        XCTAssertEqual(out.count, 2 * levels + 1)
        XCTAssertTrue(out.contains { $0.hasPrefix("A 50% quantile 2.60") }, "\(out)")
        XCTAssertTrue(out.contains { $0.hasPrefix("A–B correlation 0.90") }, "\(out)")
        XCTAssertEqual(range.outliers(of: IntensityProfile(normalised: [[1, 2, 3]]), contrasts: []), ["1 channels, trained on 2"])
    }

    func testTheRangeTravelsInCheckpointMetadataAndBadMetadataIsRefused() throws {
        let p = IntensityProfile(normalised: [(0..<100).map { Float($0) }, (0..<100).map { Float(($0 * 37) % 100) }])
        let range = try IntensityRange(covering: [p])
        XCTAssertEqual(try IntensityRange.fromMetadata(try range.metadataValue, path: "m"), range)
        for bad in ["", "{}", #"{"low":{"quantiles":[[1]],"correlations":[]},"high":{"quantiles":[[1]],"correlations":[]},"subjects":1}"#] {
            XCTAssertThrowsError(try IntensityRange.fromMetadata(bad, path: "m.safetensors")) { e in
                XCTAssertTrue("\(e)".contains("intensity_range"), "\(e)")
            }
        }
    }
}
