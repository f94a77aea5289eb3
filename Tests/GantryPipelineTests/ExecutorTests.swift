import Foundation
import GantryCore
import GantryIO
@testable import GantryPipeline
import GantryRegistration
import GantryTestSupport
import XCTest

/// A stage that writes half its output and then fails, as a run killed mid-stage would leave it.
enum CrashingStage: StageKind {
    static let name = "test.crash"
    static let summary = "writes a partial file, then fails while the flag file exists"
    static let scope = StageScope.subject
    static let requiredInputs = ["image"]
    static let outputs = ["out": "out.bin"]
    static let parameters = [ParameterSpec("flag", .string, help: "crash while this file exists")]
    static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        guard let out = outputs["out"] else { return }
        _ = FileManager.default.createFile(atPath: out, contents: Data([1, 2, 3]))
        // fails while the flag exists, or only for one subject while `flag.<subject>` exists
        if let flag = parameters["flag"]?.stringValue,
           FileManager.default.fileExists(atPath: flag) || FileManager.default.fileExists(atPath: "\(flag).\(context.subject ?? "")") {
            throw GantryError.invalidArgument("simulated crash")
        }
        _ = FileManager.default.createFile(atPath: out, contents: Data([1, 2, 3, 4, 5, 6]))
    }
}

final class ExecutorTests: XCTestCase {
    func allFiles(_ dir: String) -> [String] {
        (FileManager.default.subpaths(atPath: dir) ?? []).sorted()
    }

    func testRunWritesMasksWithSourceGeometryAndReports() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try Executor.run(try TestStudy.plan(out: out), options: RunOptions(jobs: 2))
        XCTAssertEqual(result.ran, 2 * 3 + 2)
        let mask = try NIfTI.read(out + "/stages/sub-01/seg/mask.nii.gz")
        let t1 = try NIfTI.read(TestStudy.path + "/sub-01/anat/sub-01_T1w.nii.gz")
        XCTAssertEqual(mask.affine, t1.affine)
        XCTAssertEqual(mask.header?.datatype, NIfTIDataType.uint8.rawValue)
        XCTAssertEqual(mask.header?.sformCode, t1.header?.sformCode)
        XCTAssertEqual(mask.header?.qformCode, t1.header?.qformCode)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/stages/sub-01/seg/provenance.json"))

        // The reports parse back and agree with the per-subject metrics.
        let csv = try String(contentsOfFile: out + "/reports/dice.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "subject,label,name,dice,hd95_mm,volume_pred_ml,volume_ref_ml,tp,fp,fn")
        XCTAssertEqual(csv.count, 1 + 2 * 3)
        let m = try JSONDecoder().decode(SubjectMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/stages/sub-02/dice/metrics.json")))
        let row = csv.first { $0.hasPrefix("sub-02,2,GM,") }!.split(separator: ",")
        XCTAssertEqual(Double(row[3])!, m.metrics[1].dice, accuracy: 1e-5)
        XCTAssertEqual(Int(row[7]), m.metrics[1].tp)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/reports/summary.json"))) as? [String: Any])
        XCTAssertEqual((summary["metric_per_case"] as? [Any])?.count, 2)
        let mean = try XCTUnwrap(((summary["mean"] as? [String: Any])?["3"] as? [String: Any])?["Dice"] as? Double)
        let dices = try ["sub-01", "sub-02"].map { s in
            try JSONDecoder().decode(SubjectMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/stages/\(s)/dice/metrics.json"))).metrics[2].dice
        }
        XCTAssertEqual(mean, dices.reduce(0, +) / 2, accuracy: 1e-12)
        XCTAssertGreaterThan(mean, 0.5, "k-means tissue classes should overlap the reference")
        let html = try String(contentsOfFile: out + "/reports/report.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<img ").count - 1, 2)
        XCTAssertTrue(html.contains("Stage timings"))
        XCTAssertEqual(html.components(separatedBy: "<td class=\"l\">sub-0").count - 1, 2 * 3 + 2 * 3)  // per-subject rows + timing rows
    }

    func testRerunSkipsAndParameterChangeInvalidates() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Executor.run(try TestStudy.plan(out: out))
        let again = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertEqual(again.ran, 0)
        XCTAssertEqual(again.cached, 8)
        // A changed parameter re-runs that stage and whatever its new output feeds.
        let changed = TestStudy.tissueYAML.replacingOccurrences(of: "with: {classes: 3}", with: "with: {classes: 3, smoothing_mm: 6.0}")
        let third = try Executor.run(try TestStudy.plan(changed, out: out))
        let ran = Set(third.records.filter { $0.status == "ran" }.map { "\($0.subject ?? "study")/\($0.stage)" })
        XCTAssertTrue(ran.isSuperset(of: ["sub-01/seg", "sub-02/seg", "sub-01/dice", "sub-02/dice", "study/table", "study/html"]), "\(ran)")
        // A changed input file re-runs its stages.
        let fourth = try Executor.run(try TestStudy.plan(changed, out: out))
        XCTAssertEqual(fourth.ran, 0)
    }

    /// The HTML report shows every stage's warnings, which are not among its inputs: a stage that
    /// ran again with other warnings but the same outputs (a new model that no longer flags the
    /// input, say) brings the report up to date; otherwise it stays cached.
    func testTheReportFollowsTheWarningsOfTheStagesItShows() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let prov = out + "/stages/sub-01/seg/provenance.json"
        _ = try Executor.run(try TestStudy.plan(out: out))
        // a warning recorded by sub-01's segmentation, outputs and cache key unchanged
        var record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: prov))) as? [String: Any])
        record["warnings"] = ["inputs unlike the training data"]
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: prov))
        let second = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertEqual(second.records.filter { $0.status == "ran" }.map(\.stage), ["html"], "only the report runs again")
        XCTAssertTrue(try String(contentsOfFile: out + "/reports/report.html", encoding: .utf8).contains("inputs unlike the training data"))
        record["warnings"] = nil
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: prov))
        _ = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertFalse(try String(contentsOfFile: out + "/reports/report.html", encoding: .utf8).contains("<h2>Warnings</h2>"), "the stale warning is gone")
        XCTAssertEqual(try Executor.run(try TestStudy.plan(out: out)).ran, 0)
    }

    func testKillBetweenStagesResumesWithoutRedoingWork() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(out: out), options: RunOptions(stopAfter: 3)))
        let finished = allFiles(out + "/stages").filter { $0.hasSuffix("provenance.json") }
        XCTAssertEqual(finished.count, 3)
        XCTAssertTrue(allFiles(out).allSatisfy { !$0.contains(".tmp-") }, "no temporary folders left")
        let resumed = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertEqual(resumed.cached, 3, "finished stages are not re-run")
        XCTAssertEqual(resumed.ran, 5)
    }

    func testCrashMidStageLeavesNoPartialOutput() throws {
        StageRegistry.register(CrashingStage.self)
        let out = tempOut(), flag = tempOut() + ".flag"
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: flag) }
        _ = FileManager.default.createFile(atPath: flag, contents: Data())
        let yaml = TestPipelines.crash(flag: flag)
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(yaml, out: out))) { e in
            XCTAssertTrue(String(describing: e).contains("simulated crash"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/stages/sub-01/boom"), "no stage folder for a failed stage")
        XCTAssertTrue(allFiles(out).allSatisfy { !$0.hasSuffix("out.bin") }, "no partial output anywhere")
        try FileManager.default.removeItem(atPath: flag)
        let ok = try Executor.run(try TestStudy.plan(yaml, out: out))
        XCTAssertEqual(ok.ran, 2)
        XCTAssertEqual(try FileIO.readAll(out + "/stages/sub-01/boom/out.bin"), [1, 2, 3, 4, 5, 6])
    }

    /// One subject failing does not stop the others; the run fails naming every failed subject and
    /// runs no study stage.
    func testAFailedSubjectLeavesTheOthersToFinishAndIsNamed() throws {
        StageRegistry.register(CrashingStage.self)
        let out = tempOut(), flag = tempOut() + ".flag"
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: flag + ".sub-01") }
        _ = FileManager.default.createFile(atPath: flag + ".sub-01", contents: Data())
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(TestPipelines.crash(flag: flag), out: out))) { e in
            XCTAssertTrue("\(e)".contains("1 of 2 subject(s) failed, the others finished") && "\(e)".contains("sub-01 (") && "\(e)".contains("simulated crash"), "\(e)")
        }
        XCTAssertEqual(try FileIO.readAll(out + "/stages/sub-02/boom/out.bin"), [1, 2, 3, 4, 5, 6], "sub-02 finished")
        XCTAssertEqual(try RunStatus.read(out: out).subjects.map(\.summary), [.failed, .ran])
    }

    func testRegistrationStageWarpsLabelsOntoTheFixedGrid() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let yaml = TestStudy.registrationYAML(id: "reg")
        let r = try Executor.run(try TestStudy.plan(yaml, out: out))
        XCTAssertEqual(r.ran, 2)
        let warped = try NIfTI.read(out + "/stages/sub-02/reg/warped_labels.nii.gz")
        let ref = try NIfTI.read(TestStudy.path + "/sub-01/anat/sub-01_label-tissue_dseg.nii.gz")
        XCTAssertEqual(warped.affine, ref.affine)
        XCTAssertEqual(warped.shape, ref.shape)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/stages/sub-02/reg/registration.json"))) as? [String: Any])
        let before = try XCTUnwrap(report["mean_dice_before"] as? Double), after = try XCTUnwrap(report["mean_dice_after"] as? Double)
        XCTAssertGreaterThan(after, before)
        XCTAssertNoThrow(try ITKTransformFile.parse(String(contentsOfFile: out + "/stages/sub-02/reg/affine.txt", encoding: .utf8), path: "affine.txt"))
    }

    func testTwoRunsGiveIdenticalMasksAndReports() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Executor.run(try TestStudy.plan(out: out), options: RunOptions(jobs: 2))
        let files = ["stages/sub-01/seg/mask.nii.gz", "stages/sub-02/seg/mask.nii.gz",
                     "stages/sub-02/pic/snapshot.png", "reports/dice.csv", "reports/summary.json"]
        let first = try files.map { try FileIO.readAll(out + "/" + $0) }
        try FileManager.default.removeItem(atPath: out)
        _ = try Executor.run(try TestStudy.plan(out: out), options: RunOptions(jobs: 1))
        for (f, a) in zip(files, first) { XCTAssertTrue(try FileIO.readAll(out + "/" + f) == a, "\(f) differs") }
    }

    func testConcurrentRunsOnOneOutputFolderAllSucceedWithIdenticalOutputs() throws {
        let reference = tempOut(), shared = tempOut()
        defer { for d in [reference, shared] { try? FileManager.default.removeItem(atPath: d) } }
        _ = try Executor.run(try TestStudy.plan(out: reference))
        for runs in [2, 3] {
            try? FileManager.default.removeItem(atPath: shared)
            final class Box: @unchecked Sendable { var errors: [Error] = []; let lock = NSLock() }
            let box = Box()
            DispatchQueue.concurrentPerform(iterations: runs) { _ in
                do { _ = try Executor.run(try TestStudy.plan(out: shared)) } catch { box.lock.lock(); box.errors.append(error); box.lock.unlock() }
            }
            XCTAssertTrue(box.errors.isEmpty, "\(runs) concurrent runs: \(box.errors)")
            let a = try outputSnapshot(reference), b = try outputSnapshot(shared)
            XCTAssertEqual(Set(a.keys), Set(b.keys), "\(runs) runs")
            for (name, bytes) in a where !name.hasSuffix("report.html") { XCTAssertEqual(b[name], bytes, "\(runs) runs: \(name) differs") }
            XCTAssertFalse(b.keys.contains { $0.contains(".tmp-") || $0.contains(".old-") }, "temporaries left: \(b.keys.sorted())")
        }
    }

    func testDamagedCachedOutputIsRebuiltAndStaleTemporariesRemoved() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Executor.run(try TestStudy.plan(out: out))
        let mask = out + "/stages/sub-01/seg/mask.nii.gz"
        let good = try Data(contentsOf: URL(fileURLWithPath: mask))
        var bad = good
        bad[bad.count / 2] ^= 0xff
        try bad.write(to: URL(fileURLWithPath: mask))
        // What a run killed inside a study-level stage and inside a subject stage leaves behind.
        let staleReport = out + "/reports/.table.tmp-999999-1"
        let staleStage = out + "/stages/sub-02/.seg.tmp-999999-2"
        for d in [staleReport, staleStage] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let again = try Executor.run(try TestStudy.plan(out: out))
        let ran = Set(again.records.filter { $0.status == "ran" }.map { "\($0.subject ?? "study")/\($0.stage)" })
        XCTAssertTrue(ran.contains("sub-01/seg"), "a damaged output must be rebuilt: ran \(ran)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: mask)), good)
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleReport))
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleStage))
    }

    func testSymbolicLinksAreNotFollowedOutOfTheOutputOrStudyFolder() throws {
        let out = tempOut(), outside = tempOut()
        defer { for d in [out, outside] { try? FileManager.default.removeItem(atPath: d) } }
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out + "/stages", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: out + "/stages/sub-01", withDestinationPath: outside)
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(out: out))) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertEqual(allFiles(outside), [], "a run wrote through a link out of OUT")

        // A study whose input is a link to a file outside it.
        let study = tempOut()
        defer { try? FileManager.default.removeItem(atPath: study) }
        try FileManager.default.copyItem(atPath: TestStudy.path, toPath: study)
        let t1 = study + "/sub-01/anat/sub-01_T1w.nii.gz"
        try FileManager.default.moveItem(atPath: t1, toPath: outside + "/t1.nii.gz")
        try FileManager.default.createSymbolicLink(atPath: t1, withDestinationPath: outside + "/t1.nii.gz")
        let spec = try PipelineSpec.parse(TestStudy.tissueYAML, path: "test.yaml")
        XCTAssertThrowsError(try Plan.make(spec: spec, study: study, out: tempOut())) { error in
            XCTAssertTrue("\(error)".contains("--follow-symlinks"), "\(error)")
        }
        XCTAssertNoThrow(try Plan.make(spec: spec, study: study, out: tempOut(), followSymlinks: true))
        // Subjects are named with or without the sub- prefix.
        XCTAssertEqual(try Plan.make(spec: spec, study: study, out: tempOut(), subjects: ["02"], followSymlinks: true).subjects, ["sub-02"])
    }
}
