import Foundation
import GantryTestSupport
import XCTest

/// The HTML report as people see it: a study run through a pipeline with every kind of section
/// (Dice with bar plots, overlays with the reference beside the prediction, legend and orientation
/// letters, timings folded away), rendered by headless Chromium (Debian's `chromium`) at desktop
/// and laptop widths. Fails with the reason if Chromium cannot start — it never skips.
final class ReportRenderingTests: XCTestCase {
    let pipeline = TestPipelines.tissue(name: "report-test", stages: """
      - id: tissue-picture
        uses: report.snapshot
        inputs: {image: inputs.t1w, labels: seg.mask, reference: inputs.tissue}
        with: {names: "CSF, GM, WM"}
      - id: checker
        uses: report.snapshot
        inputs: {image: inputs.t1w, checkerboard: inputs.brain}
      - id: html
        uses: report.html
        inputs: {metrics: dice.metrics, pictures: tissue-picture.png, pictures2: checker.png}
        with: {title: "Report test"}
    """)

    /// Width and height from a PNG's IHDR chunk.
    func pngSize(_ path: String) throws -> (Int, Int) {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(b.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        func be32(_ o: Int) -> Int { b[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    func testReportRendersInHeadlessChromiumAtTwoWidths() throws {
        let tmp = try TempDir()
        let study = tmp.path + "/study", out = tmp.path + "/out", yaml = tmp.path + "/p.yaml"
        XCTAssertEqual(try CLI.run(["phantom", "study", "--anatomy", "ellipsoid", "--size", "48", "--spacing", "4", "--subjects", "2", "--out", study], timeout: 120).status, 0)
        try pipeline.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = try CLI.run(["run", yaml, "--study", study, "--out", out, "-q"], timeout: 120)
        XCTAssertEqual(run.status, 0, run.stderr)
        let html = try String(contentsOfFile: out + "/reports/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg role=\"img\" aria-label=\"mean Dice per label\""), "bar plot")
        XCTAssertEqual(html.components(separatedBy: "<rect ").count - 1, 3, "one bar per label")
        XCTAssertTrue(html.contains("prediction | reference"), "reference beside the prediction")
        XCTAssertTrue(html.contains("<span>L</span>") && html.contains("<span>A</span>"), "orientation letters")
        XCTAssertTrue(html.contains("class=\"sw\" style=\"background:#e62828\"></span>CSF"), "colour legend with names")
        XCTAssertTrue(html.contains("<summary>Stage timings ("), "timings folded")
        XCTAssertTrue(html.contains("checker · axial slice") && html.contains("checkerboard: image | other"), "a checkerboard figure")

        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return XCTFail("Chromium is not installed (Debian package chromium; make deps installs it)")
        }
        for (width, height) in [(1280, 2000), (800, 2400)] {
            let png = tmp.path + "/report-\(width).png"
            let r = try CLI.run(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),\(height)",
                                 "--screenshot=\(png)", "file://\(out)/reports/report.html"], timeout: 120, executable: chromium)
            guard FileManager.default.fileExists(atPath: png) else {
                return XCTFail("headless Chromium wrote no screenshot (exit \(r.status)): \(r.stderr.suffix(400))")
            }
            let (w, h) = try pngSize(png)
            XCTAssertEqual(w, width)
            XCTAssertEqual(h, height)
            let bytes = try FileManager.default.attributesOfItem(atPath: png)[.size] as? Int ?? 0
            XCTAssertGreaterThan(bytes, 30_000, "a rendered page with pictures, not a blank one")
        }
    }
}
