import Foundation
import GantryMetrics
import XCTest

/// NMSE, PSNR and SSIM against scikit-image (scripts/fixtures/make_metrics_fixtures.py), fastMRI's definitions.
final class ImageMetricsTests: XCTestCase {
    func testMatchesScikitImage() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/image_metrics.json")
        let e = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let gt = try XCTUnwrap(e["gt"] as? [Double]).map { Float($0) }
        let pred = try XCTUnwrap(e["pred"] as? [Double]).map { Float($0) }
        let (s, ny, nx) = (e["slices"] as! Int, e["ny"] as! Int, e["nx"] as! Int)
        XCTAssertEqual(ImageMetrics.nmse(pred, reference: gt), try XCTUnwrap(e["nmse"] as? Double), accuracy: 1e-6)
        XCTAssertEqual(ImageMetrics.psnr(pred, reference: gt), try XCTUnwrap(e["psnr"] as? Double), accuracy: 1e-4)
        XCTAssertEqual(try ImageMetrics.ssim(pred, reference: gt, slices: s, ny: ny, nx: nx), try XCTUnwrap(e["ssim"] as? Double), accuracy: 1e-5)
        XCTAssertEqual(try ImageMetrics.ssim(gt, reference: gt, slices: s, ny: ny, nx: nx), 1, accuracy: 1e-9)
    }
}
