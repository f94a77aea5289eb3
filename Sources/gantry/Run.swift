import ArgumentParser
import Foundation
import GantryCore
import GantryPipeline

extension Gantry {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline (YAML) on a study folder.",
            discussion: """
            OUT becomes a BIDS derivatives dataset: masks, warped images and transforms under \
            OUT/sub-*/anat/ with BIDS names and sidecars; every stage's outputs with provenance.json in \
            OUT/stages/<subject>/<stage>/; study reports in OUT/reports/. \
            Re-running skips every stage whose inputs and parameters are unchanged; a killed run resumes. \
            Subjects with session folders (sub-01/ses-01/) are processed per session. With --executor \
            slurm the per-subject stages are submitted as one Slurm job array and the study-level stages \
            as one job after it; `gantry status OUT` shows where every subject is.
            """
        )

        @Argument(help: "Pipeline file (see pipelines/).")
        var pipeline: String

        @Option(help: "Study folder (sub-*/…).")
        var study: String

        @Option(help: "Output folder.")
        var out: String

        @Option(name: .customLong("subject"), help: "Run only this subject (repeatable; 01, sub-01 or sub-01/ses-01).")
        var subjects: [String] = []

        @Option(help: "Which part of the plan runs: all, subjects (per-subject stages only) or study (study-level stages, after every subject finished). Slurm tasks use subjects and study.")
        var scope: RunScope = .all

        @OptionGroup var options: PlanOptions

        func validate() throws {
            if options.executor == .slurm && scope != .all { throw ValidationError("--scope is for the tasks the Slurm executor starts; submit with the default --scope all") }
            try options.validate()
        }

        func run() throws {
            try options.execute(pipeline: pipeline, study: study, out: out, subjects: subjects, sessions: [], scope: scope)
        }
    }

    struct Stages: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stage kinds pipelines can use.")

        func run() throws {
            for (name, kind) in StageRegistry.all.sorted(by: { $0.key < $1.key }) {
                print("\(name)  (\(kind.scope.rawValue))  \(kind.summary)")
                let ins = kind.requiredInputs + kind.optionalInputs.map { $0 + "?" }
                print("    inputs: \(ins.joined(separator: ", "))   outputs: \(kind.outputs.keys.sorted().joined(separator: ", "))")
                for p in kind.parameters {
                    print("    \(p.name): \(p.type.rawValue)\(p.defaultValue.map { " = \($0)" } ?? " (required)") — \(p.help)")
                }
            }
        }
    }
}

/// How a plan is executed, shared by `run` and `bids`: where (local or Slurm), with what
/// parallelism, and where model files are found.
struct PlanOptions: ParsableArguments {
    @Option(help: "Where the plan runs: local (this machine) or slurm (a job array; see the Slurm options).")
    var executor: ExecutorKind = .local

    @Option(help: "Subjects processed in parallel by the local executor (cores are shared between them).")
    var jobs: Int = 1

    @Flag(help: "Print the plan (local) or the batch scripts (slurm) and exit.")
    var dryRun = false

    @Flag(help: "Accept study files that are symbolic links to places outside the study folder.")
    var followSymlinks = false

    @Option(help: "A folder searched for model checkpoints a pipeline names (repeatable); after the pipeline's own folder, before the installed share/gantry/models.")
    var models: [String] = []

    @OptionGroup(title: "Slurm executor") var slurm: SlurmFlags

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1…64") }
        try slurm.validate(executor: executor)
    }

    func execute(pipeline: String, study: String, out: String, subjects: [String], sessions: [String], scope: RunScope) throws {
        let spec = try PipelineSpec.load(pipeline)
        let plan = try Plan.make(spec: spec, study: study, out: out, subjects: subjects, sessions: sessions, followSymlinks: followSymlinks, models: models)
        if dryRun && executor == .local {
            print("pipeline \(spec.name): \(plan.subjects.count) subject(s), \(plan.steps.count) stage(s)")
            for step in plan.steps {
                let ins = step.stage.inputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.joined(separator: ","))" }.joined(separator: " ")
                let ps = step.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                print("  \(step.stage.id) [\(step.kind.name), \(step.kind.scope.rawValue)] \(ins) \(ps)")
            }
            for s in plan.subjects { print("  \(s): " + (plan.inputFiles[s] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
            return
        }
        try compute.apply()
        if executor == .slurm {
            // The study job covers the array's units: a filter is passed on as the units it chose.
            try submitToSlurm(plan, pipeline: pipeline, units: subjects.isEmpty && sessions.isEmpty ? [] : plan.subjects, scope: scope)
            return
        }
        let result = try Executor.run(plan, options: RunOptions(jobs: jobs, progress: { Log.progress($0) }, scope: scope,
                                                                  batchJob: SlurmEnvironment.jobLabel(ProcessInfo.processInfo.environment)))
        print("ran \(result.ran) stage(s), \(result.cached) cached")
        for r in result.reports { print(r) }
    }

    /// Submits the plan (or prints its scripts with --dry-run); with --wait, follows it to the end
    /// and fails if a subject or the study job did not finish.
    private func submitToSlurm(_ plan: Plan, pipeline: String, units: [String], scope: RunScope) throws {
        let absolute = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        let command = TaskCommand(gantry: Self.executablePath, pipeline: absolute(pipeline), study: plan.study, out: plan.out,
                                  models: models.map(absolute), followSymlinks: followSymlinks)
        let client = SlurmClient()
        let t0 = Date()
        let sub = try SlurmExecutor.submit(plan, command: command, options: slurm.options, userSubjects: units, scope: scope, client: client, dryRun: dryRun)
        if dryRun {
            if scope != .study { print("# \(sub.folder)/array.sbatch (\(sub.tasks) task(s))\n" + sub.arrayScript) }
            if let s = sub.studyScript { print("# \(sub.folder)/study.sbatch (sbatch --dependency=afterany:<array job>)\n" + s) }
            return
        }
        let array = sub.arrayJob.map { "job array \($0) (\(sub.tasks) task(s), \(plan.subjects.count) unit(s))" }
        let study = sub.studyJob.map { "study job \($0)" + (sub.arrayJob == nil ? "" : " after it") }
        print("submitted " + [array, study].compactMap { $0 }.joined(separator: ", ") + " in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s; scripts and logs: \(sub.folder)")
        guard slurm.wait else { print("follow with: gantry status \(plan.out)"); return }
        fflush(nil)  // the submission line before the progress lines on stderr
        let status = try SlurmExecutor.wait(sub, out: plan.out, options: slurm.options, client: client, progress: { Log.progress($0) })
        status.lines.forEach { print($0) }
        Log.detail("controller queries: \(client.queries)")
        let subjectsDone = scope == .study || status.unfinished.isEmpty
        let studyDone = scope == .subjects || status.study.done
        guard subjectsDone && studyDone else {
            let failed = status.unfinished.map(\.subject)
            throw GantryError.invalidArgument("\(failed.count) subject(s) did not finish (\(failed.joined(separator: ", ")))\(status.study.done ? "" : "; study stages not done") — re-run the same command to finish")
        }
    }

    /// This program's own path, which the batch scripts run.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// The Slurm executor's flags: resources per array task (over the pipeline's `resources:`), the
/// array's shape, and waiting.
struct SlurmFlags: ParsableArguments {
    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Time limit per task (Slurm format, e.g. 01:00:00).") var time: String?
    @Option(help: "CPUs per task (Gantry's threads follow it).") var cpusPerTask: Int?
    @Option(help: "Memory per task (e.g. 8G).") var mem: String?
    @Option(help: "Slurm account to charge.") var account: String?
    @Option(help: "At most K array tasks at once (--array=1-N%K).") var arrayLimit: Int?
    @Option(help: "Subjects per array task.") var chunk: Int = 1
    @Option(name: .customLong("sbatch-arg"), help: "Another sbatch option for every job, e.g. --sbatch-arg=--qos=long (repeatable).") var sbatchArgs: [String] = []
    @Flag(help: "Wait for the jobs to end, then print the status (exit non-zero if a subject failed).") var wait = false
    @Option(help: "Seconds between controller queries while waiting (at least; backs off while nothing changes).") var pollInterval: Double = 30

    func validate(executor: ExecutorKind) throws {
        let given = partition != nil || time != nil || cpusPerTask != nil || mem != nil || account != nil || arrayLimit != nil || chunk != 1 || !sbatchArgs.isEmpty || wait
        if executor != .slurm && given { throw ValidationError("the Slurm options need --executor slurm") }
        if let c = cpusPerTask, c < 1 { throw ValidationError("--cpus-per-task must be at least 1") }
        if let k = arrayLimit, k < 1 { throw ValidationError("--array-limit must be at least 1") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be at least 1") }
        guard pollInterval >= 1 else { throw ValidationError("--poll-interval must be at least 1 s") }
        for v in [partition, time, mem, account].compactMap({ $0 }) where v.isEmpty || v.contains(where: { $0.isWhitespace }) {
            throw ValidationError("Slurm resource values are one word, got '\(v)'")
        }
    }

    var options: SlurmOptions {
        var o = SlurmOptions()
        o.partition = partition; o.time = time; o.cpusPerTask = cpusPerTask; o.mem = mem; o.account = account
        o.arrayLimit = arrayLimit; o.chunk = chunk; o.extra = sbatchArgs; o.pollInterval = pollInterval
        return o
    }
}
