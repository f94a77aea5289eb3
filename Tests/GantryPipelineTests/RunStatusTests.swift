import Foundation
import GantryCore
import GantryIO
@testable import GantryPipeline
import GantryTestSupport
import XCTest

/// `gantry status` reads the run's state files and stage locks: these tests drive runs into each
/// state (finished, failed, killed between stages, killed inside a stage, running) and check what
/// the status says, and that a study-level part refuses to run over unfinished subjects.
final class RunStatusTests: XCTestCase {
    func testFinishedRunIsCompleteAndSecondRunIsCached() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try Executor.run(try TestStudy.plan(out: out))
        var status = try RunStatus.read(out: out)
        XCTAssertTrue(status.complete)
        XCTAssertEqual(status.subjects.map(\.name), ["sub-01", "sub-02"])
        XCTAssertEqual(status.manifest.subjectStages, ["seg", "dice", "pic"])
        XCTAssertEqual(status.manifest.studyStages, ["table", "html"])
        XCTAssertEqual(Set(status.subjects.flatMap(\.stages).map(\.status)), [.ran])
        _ = try Executor.run(try TestStudy.plan(out: out))
        status = try RunStatus.read(out: out)
        XCTAssertTrue(status.complete)
        XCTAssertEqual(Set(status.subjects.flatMap(\.stages).map(\.status)), [.cached])
        XCTAssertTrue(status.lines.last?.hasPrefix("subjects: 2 done;") ?? false, "\(status.lines)")
    }

    func testFailedStageIsRecordedWithItsError() throws {
        StageRegistry.register(CrashingStage.self)
        let out = tempOut(), flag = tempOut() + ".flag"
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: flag) }
        _ = FileManager.default.createFile(atPath: flag, contents: Data())
        let yaml = TestPipelines.crash(flag: flag)
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(yaml, out: out)))
        let status = try RunStatus.read(out: out)
        XCTAssertFalse(status.complete)
        let failed = try XCTUnwrap(status.subjects.first { $0.summary == .failed })
        XCTAssertEqual(failed.problem?.stage, "boom")
        XCTAssertTrue(failed.problem?.error?.contains("simulated crash") ?? false, "\(String(describing: failed.problem))")
        XCTAssertTrue(status.lines.contains { $0.contains("boom failed") && $0.contains("simulated crash") }, "\(status.lines)")
    }

    func testStageLeftRunningIsInterruptedUnlessItsLockIsHeld() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        // A run killed after two stages: the rest is pending.
        XCTAssertThrowsError(try Executor.run(try TestStudy.plan(out: out), options: RunOptions(stopAfter: 2)))
        var status = try RunStatus.read(out: out)
        XCTAssertEqual(status.subjects[0].stages.map(\.status), [.ran, .ran, .pending])
        XCTAssertEqual(status.subjects[1].summary, .pending)
        XCTAssertEqual(status.study.summary, .pending)

        // A process that died inside a stage left "running" and no lock holder: interrupted.
        try StateStore.write(.now(.running, subject: "sub-02", stage: "seg", job: nil), out: out)
        status = try RunStatus.read(out: out)
        XCTAssertEqual(status.subjects[1].stages[0].status, .interrupted)
        XCTAssertEqual(status.subjects[1].summary, .interrupted)

        // While some process holds the stage's lock, the same record means running.
        let lock = RunLayout.lockPath(out, subject: "sub-02", stage: "seg")
        try FileLock.createFolders("stages/sub-02", under: out)
        try FileLock.withExclusive(lock) {
            XCTAssertTrue(FileLock.isHeld(lock))
            XCTAssertEqual(try RunStatus.read(out: out).subjects[1].stages[0].status, .running)
        }
        XCTAssertFalse(FileLock.isHeld(lock))
        // Resuming finishes everything.
        _ = try Executor.run(try TestStudy.plan(out: out))
        XCTAssertTrue(try RunStatus.read(out: out).complete)
    }

    func testStudyPartRefusesToRunOverUnfinishedSubjectsAndNamesThem() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let spec = try PipelineSpec.parse(TestStudy.tissueYAML, path: "test.yaml")
        // The whole plan is announced (as a Slurm submission does), then only sub-01's part runs.
        try RunManifest(plan: try Plan.make(spec: spec, study: TestStudy.path, out: out), executor: "slurm").write(out: out)
        _ = try Executor.run(try Plan.make(spec: spec, study: TestStudy.path, out: out, subjects: ["01"]), options: RunOptions(scope: .subjects))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/reports/dice.csv"), "the subjects part runs no study stage")
        XCTAssertEqual(try RunManifest.read(out: out).executor, "slurm", "a part leaves the submission's manifest")
        let plan = try Plan.make(spec: spec, study: TestStudy.path, out: out)
        XCTAssertThrowsError(try Executor.run(plan, options: RunOptions(scope: .study))) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains("1 of 2 subject(s) did not finish") && m.contains("sub-02 (not run: seg, dice, pic)"), m)
        }
        let status = try RunStatus.read(out: out)
        XCTAssertEqual(status.study.summary, .failed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/reports/dice.csv"))
        // Once the missing subject ran, the study part runs.
        _ = try Executor.run(try Plan.make(spec: spec, study: TestStudy.path, out: out, subjects: ["sub-02"]), options: RunOptions(scope: .subjects))
        let result = try Executor.run(plan, options: RunOptions(scope: .study))
        XCTAssertEqual(result.ran, 2)
        XCTAssertTrue(try RunStatus.read(out: out).complete)
    }
}
