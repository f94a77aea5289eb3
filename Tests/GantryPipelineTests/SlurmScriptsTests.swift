import Foundation
import GantryCore
@testable import GantryPipeline
import XCTest

/// The batch scripts, checked without a cluster: bash parses them, and the array script run as
/// task N (with `echo` standing in for gantry) passes exactly chunk N's subjects.
final class SlurmScriptsTests: XCTestCase {
    func plan(out: String, resources: String = "") throws -> Plan {
        let yaml = TestStudy.tissueYAML.replacingOccurrences(of: "name: test-tissue", with: "name: test-tissue\n" + resources)
        return try Plan.make(spec: PipelineSpec.parse(yaml, path: "test.yaml"), study: TestStudy.path, out: out)
    }

    func bash(_ script: String, env: [String: String] = [:], args: [String] = []) throws -> (Int32, String) {
        let r = try Subprocess.run("/bin/bash", args + ["-c", script], timeout: 300, environment: env)
        XCTAssertFalse(r.timedOut, "the script did not finish within 300 s")
        return (r.status, r.stdout + r.stderr)
    }

    func testArrayTaskRunsItsChunkOfSubjects() throws {
        let out = tempOut() + "/it's here"  // a quote in the path must survive the shell
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        let folder = out + "/.gantry/slurm/x"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var options = SlurmOptions()
        options.chunk = 1; options.arrayLimit = 2; options.cpusPerTask = 3; options.partition = "debug"; options.extra = ["--qos=long"]
        let command = TaskCommand(gantry: "/bin/echo", pipeline: "/p/pipe line.yaml", study: "/s", out: out, models: ["/m"])
        let script = SlurmScripts.array(name: "t", tasks: 3, folder: folder, command: command, options: options)
        XCTAssertTrue(script.contains("#SBATCH --array=1-3%2\n"))
        XCTAssertTrue(script.contains("#SBATCH --cpus-per-task=3\n") && script.contains("#SBATCH --partition=debug\n") && script.contains("#SBATCH --qos=long\n"))
        XCTAssertEqual(try bash(script, args: ["-n"]).0, 0, "bash must parse the script")
        try "sub-01\nsub-02 sub-03\nsub-04\n".write(toFile: folder + "/subjects.txt", atomically: true, encoding: .utf8)
        let (rc, printed) = try bash(script, env: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_CPUS_PER_TASK": "3"])
        XCTAssertEqual(rc, 0, printed)
        XCTAssertEqual(printed.trimmingCharacters(in: .newlines),
                       "run /p/pipe line.yaml --study /s --out \(out) --scope subjects --models /m --threads 3 --subject sub-02 --subject sub-03")
        let (rc5, msg) = try bash(script, env: ["SLURM_ARRAY_TASK_ID": "5"])
        XCTAssertNotEqual(rc5, 0)
        XCTAssertTrue(msg.contains("no subjects for array task 5"), msg)
    }

    func testStudyScriptRunsTheStudyPartForTheSameSubjects() throws {
        let command = TaskCommand(gantry: "/bin/echo", pipeline: "/p.yaml", study: "/s", out: "/o")
        let script = SlurmScripts.study(name: "t", folder: "/o/.gantry/slurm/x", command: command, subjects: ["01", "sub-02"], options: SlurmOptions())
        XCTAssertEqual(try bash(script, args: ["-n"]).0, 0)
        let (rc, printed) = try bash(script)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(printed.trimmingCharacters(in: .newlines), "run /p.yaml --study /s --out /o --scope study --threads 1 --subject 01 --subject sub-02")
        XCTAssertTrue(script.contains("#SBATCH --output=/o/.gantry/slurm/x/logs/study-%j.log"))
    }

    func testFlagsOverridePipelineResourcesAndDryRunWritesNothing() throws {
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try plan(out: out, resources: "resources: {cpus_per_task: 2, mem: 4G, time: \"00:30:00\"}")
        XCTAssertEqual(p.spec.resources.cpusPerTask, 2)
        var flags = SlurmOptions()
        flags.mem = "8G"; flags.chunk = 2
        let sub = try SlurmExecutor.submit(p, command: TaskCommand(gantry: "/g", pipeline: "/p", study: p.study, out: p.out, models: []),
                                           options: flags, userSubjects: [], client: SlurmClient(), dryRun: true)
        XCTAssertTrue(sub.arrayScript.contains("#SBATCH --mem=8G\n") && sub.arrayScript.contains("#SBATCH --cpus-per-task=2\n") && sub.arrayScript.contains("#SBATCH --time=00:30:00\n"), sub.arrayScript)
        XCTAssertTrue(sub.arrayScript.contains("#SBATCH --array=1-1\n"), "2 subjects in chunks of 2 is one task")
        XCTAssertNotNil(sub.studyScript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a dry run writes nothing")
    }

    func testWhatSlurmCouldNotCarryIsRefusedBeforeSubmitting() throws {
        let p = try plan(out: "/tmp/with space")
        let command = TaskCommand(gantry: "/g", pipeline: "/p", study: p.study, out: "/tmp/with space")
        XCTAssertThrowsError(try SlurmExecutor.submit(p, command: command, options: SlurmOptions(), userSubjects: [], client: SlurmClient(), dryRun: true)) {
            XCTAssertTrue("\($0)".contains("without spaces"), "\($0)")
        }
        var bad = SlurmOptions()
        bad.extra = ["qos=long"]
        XCTAssertThrowsError(try SlurmExecutor.submit(p, command: TaskCommand(gantry: "/g", pipeline: "/p", study: p.study, out: "/tmp/o"), options: bad,
                                                      userSubjects: [], client: SlurmClient(), dryRun: true)) {
            XCTAssertTrue("\($0)".contains("--sbatch-arg 'qos=long'"), "\($0)")
        }
        for (resources, message) in [("resources: {cpus_per_task: 0}", "cpus_per_task must be 1…1024"),
                                     ("resources: {gpus: 1}", "unknown key 'gpus'"),
                                     ("resources: {mem: \"4 G\"}", "'mem' must be one word"),
                                     ("resources: [1]", "'resources' must map")] {
            XCTAssertThrowsError(try plan(out: "/tmp/o", resources: resources), resources) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
    }

    func testMoreTasksThanMaxArraySizeIsRefusedWithTheChunkNeeded() throws {
        // A stand-in `scontrol` reporting a site limit of 2 (indices 0…1: one task of ours).
        let bin = tempOut()
        let out = tempOut()
        defer { try? FileManager.default.removeItem(atPath: bin); try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'MaxArraySize            = 2'\n".write(toFile: bin + "/scontrol", atomically: true, encoding: .utf8)
        chmod(bin + "/scontrol", 0o755)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        setenv("PATH", bin, 1)
        defer { setenv("PATH", path, 1) }
        let p = try plan(out: out)
        XCTAssertThrowsError(try SlurmExecutor.submit(p, command: TaskCommand(gantry: "/g", pipeline: "/p", study: p.study, out: p.out), options: SlurmOptions(),
                                                      userSubjects: [], client: SlurmClient(), dryRun: false)) {
            XCTAssertTrue("\($0)".contains("2 array tasks exceed this cluster's MaxArraySize of 2: use --chunk 2 or more"), "\($0)")
        }
        XCTAssertTrue(((try? FileManager.default.contentsOfDirectory(atPath: out + "/.gantry/slurm")) ?? []).isEmpty, "nothing submitted, nothing left")
    }
}
