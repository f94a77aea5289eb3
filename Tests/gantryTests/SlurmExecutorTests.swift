import Foundation
import GantryCore
import GantryPipeline
import GantryTestSupport
import XCTest

/// `gantry run --executor slurm` on a real single-host Slurm (scripts/slurm-local.sh: slurmctld +
/// slurmd from Debian's slurm-wlm, munge): outputs byte-identical to the local executor's, an array
/// task killed mid-stage shows as interrupted and is finished by re-submitting, and the faults a
/// user meets (no such partition, controller unreachable, no Slurm at all) are one-line errors.
/// If the cluster cannot start, the tests fail with the reason — they never skip.
final class SlurmExecutorTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// SLURM_CONF of the running local cluster, started once for this test class.
    static let cluster: Result<String, Error> = {
        do {
            let r = try Subprocess.run("/bin/bash", [repository + "/scripts/slurm-local.sh", "start"], timeout: 180)
            guard r.status == 0, !r.timedOut, let line = r.stdout.split(separator: "\n").last, line.hasPrefix("export SLURM_CONF=") else {
                throw NSError(domain: "slurm-local", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey:
                    "the local Slurm cluster did not start\(r.timedOut ? " within 180 s" : ""): \(r.stderr)\(r.stdout)"])
            }
            return .success(String(line.dropFirst("export SLURM_CONF=".count)))
        } catch { return .failure(error) }
    }()

    static let pipeline = TestPipelines.tissue(name: "slurm-test", inputs: """
      template: ../sub-01/anat/sub-01_T1w.nii.gz
      template_tissue: ../sub-01/anat/sub-01_label-tissue_dseg.nii.gz

    """, stages: """
      - id: reg
        uses: register.syn
        inputs: {fixed: inputs.template, moving: inputs.t1w, moving_labels: seg.mask, fixed_labels: inputs.template_tissue}
    """ + "\n" + TestPipelines.diceTable)

    func gantry(_ args: [String], conf: String, timeout: Double = 300, path: String? = nil) throws -> CLI.Outcome {
        var env = ["SLURM_CONF": conf]
        if let path { env["PATH"] = path }
        return try CLI.run(args, timeout: timeout, environment: env)
    }

    /// A 4-subject phantom study and its pipeline in `dir`.
    func makeStudy(_ dir: String) throws -> (study: String, pipeline: String) {
        let study = dir + "/study", pipeline = dir + "/pipeline.yaml"
        let made = try CLI.run(["phantom", "study", "--anatomy", "ellipsoid", "--size", "48", "--spacing", "4", "--subjects", "4", "--out", study], timeout: 120)
        XCTAssertEqual(made.status, 0, made.stderr)
        try Self.pipeline.write(toFile: pipeline, atomically: true, encoding: .utf8)
        return (study, pipeline)
    }

    func testSlurmOutputsMatchLocalAndAKilledTaskIsFinishedByResubmitting() throws {
        let conf = try Self.cluster.get()
        let tmp = try TempDir()
        let (study, pipeline) = try makeStudy(tmp.path)
        let local = tmp.path + "/local", slurm = tmp.path + "/slurm"
        let l = try CLI.run(["run", pipeline, "--study", study, "--out", local, "-q"], timeout: 300)
        XCTAssertEqual(l.status, 0, l.stderr)

        // Submit, wait until a registration is under way in some array task, and kill that task.
        let submitted = try gantry(["run", pipeline, "--study", study, "--out", slurm, "--executor", "slurm", "--cpus-per-task", "1"], conf: conf)
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        XCTAssertTrue(submitted.stdout.contains("submitted job array"), submitted.stdout)
        var victim: StageState?
        let deadline = Date().addingTimeInterval(120 * CLI.timeoutScale)
        while victim == nil && Date() < deadline {
            victim = (1...4).lazy.compactMap { StateStore.read(out: slurm, subject: "sub-0\($0)", stage: "reg") }.first { $0.status == .running && $0.slurmJob != nil }
            if victim == nil { usleep(50_000) }
        }
        let task = try XCTUnwrap(victim?.slurmJob, "no array task started a registration within 120 s")
        let cancel = try Subprocess.run("scancel", ["--signal=KILL", "--full", task], timeout: 60, environment: ["SLURM_CONF": conf])
        XCTAssertEqual(cancel.status, 0, "scancel \(task): \(cancel.stderr)")

        // Wait for the whole submission to end: the study job runs (afterany) and names the subject.
        let manifest = try RunManifest.read(out: slurm)
        let jobs = try XCTUnwrap(manifest.slurmJobs)
        XCTAssertEqual(jobs.count, 2, "one array and one study job")
        let client = SlurmClient()
        setenv("SLURM_CONF", conf, 1)
        while Date() < deadline, try client.states(of: jobs).values.contains(where: { ["PENDING", "RUNNING", "COMPLETING", "CONFIGURING"].contains($0.state) }) {
            sleep(1)
        }
        let status = try gantry(["status", slurm, "--json"], conf: conf)
        XCTAssertEqual(status.status, 0, status.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["complete"] as? Bool, false)
        let subjects = try XCTUnwrap(json["subjects"] as? [[String: Any]])
        let killed = try XCTUnwrap(victim?.subject)
        XCTAssertEqual(subjects.first { $0["name"] as? String == killed }?["status"] as? String, "interrupted", status.stdout)
        XCTAssertEqual(subjects.filter { $0["status"] as? String == "done" }.count, 3, status.stdout)
        let studyUnit = try XCTUnwrap(json["study"] as? [String: Any])
        XCTAssertEqual(studyUnit["status"] as? String, "failed")
        let studyError = ((studyUnit["stages"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        XCTAssertTrue(studyError.contains("1 of 4 subject(s) did not finish: \(killed) (reg interrupted, Slurm task \(task))"), studyError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: slurm + "/reports/dice.csv"), "no report over a missing subject")
        XCTAssertFalse(FileManager.default.fileExists(atPath: slurm + "/stages/\(killed)/reg"), "no half-written stage")
        let logs = try FileManager.default.contentsOfDirectory(atPath: (manifest.slurmFolder ?? "") + "/logs")
        XCTAssertEqual(logs.filter { $0.hasPrefix("task-") }.count, 4, "\(logs)")

        // Re-submitting the same command finishes the job — here twice at once, as two users might:
        // the stage locks make the second wait and find the first's work. Everything matches the local run.
        // Each run's outcome (or its error) stored under a lock: two threads writing one array race.
        final class Box: @unchecked Sendable {
            private let lock = NSLock()
            private var results: [Result<CLI.Outcome, Error>?] = [nil, nil]
            func set(_ i: Int, _ r: Result<CLI.Outcome, Error>) { lock.lock(); results[i] = r; lock.unlock() }
            var all: [Result<CLI.Outcome, Error>?] { lock.lock(); defer { lock.unlock() }; return results }
        }
        let box = Box()
        let resubmit = ["run", pipeline, "--study", study, "--out", slurm, "--executor", "slurm", "--cpus-per-task", "1", "--wait", "--poll-interval", "1"]
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            box.set(i, Result { try CLI.run(resubmit, timeout: 300, environment: ["SLURM_CONF": conf]) })
        }
        for result in box.all {
            let again = try XCTUnwrap(result).get()
            XCTAssertEqual(again.status, 0, again.stderr + again.stdout)
            XCTAssertTrue(again.stdout.contains("subjects: 4 done; study stages: done"), again.stdout)
        }
        let a = try outputSnapshot(local), b = try outputSnapshot(slurm)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertGreaterThan(a.count, 20)
        for (name, bytes) in a { XCTAssertEqual(b[name], bytes, "\(name) differs between the local and the Slurm run") }
    }

    func testSlurmFaultsAreOneLineErrorsAndSubmitNothing() throws {
        let conf = try Self.cluster.get()
        let tmp = try TempDir()
        let (study, pipeline) = try makeStudy(tmp.path)
        let out = tmp.path + "/out"
        func expectError(_ r: CLI.Outcome, _ text: String, _ what: String) {
            XCTAssertNotEqual(r.status, 0, what)
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            XCTAssertEqual(lines.count, 1, "\(what): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(text), "\(what): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/stages"), "\(what): nothing may be written")
            XCTAssertTrue(((try? FileManager.default.contentsOfDirectory(atPath: out + "/.gantry/slurm")) ?? []).isEmpty, "\(what): no submission folder left")
        }
        let base = ["run", pipeline, "--study", study, "--out", out, "--executor", "slurm"]
        expectError(try gantry(base + ["--partition", "nosuch"], conf: conf), "invalid partition specified: nosuch", "unknown partition")
        expectError(try gantry(base, conf: conf, path: "/nonexistent"), "'sbatch' not found on PATH", "no Slurm installed")
        // A request no node can meet is accepted by sbatch here (sites differ) and would pend forever:
        // waiting says so instead of hanging.
        let never = try gantry(base + ["--cpus-per-task", "64", "--wait", "--poll-interval", "1"], conf: conf)
        XCTAssertNotEqual(never.status, 0)
        XCTAssertTrue(never.stderr.contains("can never start as submitted (pending: PartitionConfig)"), never.stderr)
        _ = try Subprocess.run("scancel", (try? RunManifest.read(out: out))?.slurmJobs ?? [], timeout: 60, environment: ["SLURM_CONF": conf])
        try FileManager.default.removeItem(atPath: out)
        // A controller that does not answer (the configuration names a port nobody listens on).
        let badConf = tmp.path + "/slurm.conf"
        try String(contentsOfFile: conf, encoding: .utf8).replacingOccurrences(of: "SlurmctldPort=6817", with: "SlurmctldPort=6999")
            .write(toFile: badConf, atomically: true, encoding: .utf8)
        expectError(try gantry(base, conf: badConf), "Unable to contact slurm controller", "controller down")
        // A subject without its inputs stops the submission before anything reaches Slurm.
        try FileManager.default.removeItem(atPath: study + "/sub-03/anat/sub-03_T1w.nii.gz")
        expectError(try gantry(base, conf: conf), "sub-03: no file for input 't1w'", "missing input")
    }
}
