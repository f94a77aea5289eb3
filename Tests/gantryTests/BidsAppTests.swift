import Foundation
import GantryPipeline
import GantryTestSupport
import XCTest

/// `gantry bids BIDS_DIR OUTPUT_DIR participant|group`: the BIDS-App command line, locally and on
/// the local Slurm cluster, over a phantom study laid out as BIDS.
final class BidsAppTests: XCTestCase {
    let pipeline = TestPipelines.tissue(name: "bids-test", stages: TestPipelines.diceTable)

    func testParticipantThenGroupLevelsLocallyAndOnSlurm() throws {
        let tmp = try TempDir()
        let bids = tmp.path + "/bids", out = tmp.path + "/out", yaml = tmp.path + "/p.yaml"
        XCTAssertEqual(try CLI.run(["phantom", "study", "--anatomy", "ellipsoid", "--size", "40", "--spacing", "4", "--subjects", "3", "--out", bids], timeout: 120).status, 0)
        try pipeline.write(toFile: yaml, atomically: true, encoding: .utf8)

        // participant level for two labels (BIDS Apps' spelling with an underscore works too)
        let p = try CLI.run(["bids", bids, out, "participant", "--participant_label", "01", "sub-02", "--pipeline", yaml, "-q"], timeout: 120)
        XCTAssertEqual(p.status, 0, p.stderr)
        let fm = FileManager.default
        XCTAssertTrue(fm.fileExists(atPath: out + "/stages/sub-02/seg/mask.nii.gz"))
        XCTAssertFalse(fm.fileExists(atPath: out + "/stages/sub-03"), "only the labels given")
        XCTAssertFalse(fm.fileExists(atPath: out + "/reports/dice.csv"), "participant level runs no study stage")
        let description = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/dataset_description.json"))) as? [String: Any])
        XCTAssertEqual(description["DatasetType"] as? String, "derivative")
        XCTAssertEqual(((description["GeneratedBy"] as? [[String: Any]])?.first?["Name"]) as? String, "Gantry")

        // group level over all subjects refuses, naming the one not processed; over the two it runs
        let early = try CLI.run(["bids", bids, out, "group", "--pipeline", yaml], timeout: 60)
        XCTAssertNotEqual(early.status, 0)
        XCTAssertEqual(early.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, early.stderr)
        XCTAssertTrue(early.stderr.contains("1 of 3 subject(s) did not finish: sub-03 (not run: seg, dice)"), early.stderr)
        let g = try CLI.run(["bids", bids, out, "group", "--participant-label", "01", "02", "--pipeline", yaml, "-q"], timeout: 60)
        XCTAssertEqual(g.status, 0, g.stderr)
        let rows = try String(contentsOfFile: out + "/reports/dice.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 2 * 3)

        // the third subject on Slurm (one array task), then the group level as one Slurm job
        let conf = try SlurmExecutorTests.cluster.get()
        let slurm = ["--executor", "slurm", "--wait", "--poll-interval", "1", "--cpus-per-task", "1"]
        let sp = try CLI.run(["bids", bids, out, "participant", "--participant-label", "03", "--pipeline", yaml] + slurm, timeout: 300, environment: ["SLURM_CONF": conf])
        XCTAssertEqual(sp.status, 0, sp.stderr + sp.stdout)
        XCTAssertTrue(sp.stdout.contains("submitted job array") && !sp.stdout.contains("study job"), sp.stdout)
        let sg = try CLI.run(["bids", bids, out, "group", "--pipeline", yaml] + slurm, timeout: 300, environment: ["SLURM_CONF": conf])
        XCTAssertEqual(sg.status, 0, sg.stderr + sg.stdout)
        XCTAssertTrue(sg.stdout.contains("submitted study job"), sg.stdout)
        XCTAssertEqual(try String(contentsOfFile: out + "/reports/dice.csv", encoding: .utf8).split(separator: "\n").count, 1 + 3 * 3)
        let status = try CLI.run(["status", out], timeout: 30)
        XCTAssertTrue(status.stdout.contains("subjects: 3 done; study stages: done"), status.stdout)

        // not a BIDS dataset
        try fm.removeItem(atPath: bids + "/dataset_description.json")
        let notBids = try CLI.run(["bids", bids, out, "participant", "--pipeline", yaml], timeout: 30)
        XCTAssertNotEqual(notBids.status, 0)
        XCTAssertTrue(notBids.stderr.contains("is not a BIDS dataset (no dataset_description.json)"), notBids.stderr)
    }
}
