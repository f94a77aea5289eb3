import Foundation
import GantryCore
import GantryIO

/// Options for running a plan.
public struct RunOptions: Sendable {
    /// Subjects processed at once; the cores are shared out between them.
    public var jobs: Int = 1
    /// Progress lines (stderr in the CLI).
    public var progress: @Sendable (String) -> Void = { _ in }
    /// Testing hook: behave as if killed after this many stages have run (not counting cached ones).
    public var stopAfter: Int? = nil
    /// Which part of the plan runs: a Slurm array task runs `.subjects`, its dependent job `.study`.
    public var scope: RunScope = .all
    /// The batch job this run is (Slurm's `array_task` label), recorded in the state files.
    public var batchJob: String? = nil

    public init(jobs: Int = 1, progress: @escaping @Sendable (String) -> Void = { _ in }, stopAfter: Int? = nil, scope: RunScope = .all, batchJob: String? = nil) {
        self.jobs = jobs; self.progress = progress; self.stopAfter = stopAfter; self.scope = scope; self.batchJob = batchJob
    }
}

/// The parts of a plan: per-subject stages, study-level stages, or both in that order.
public enum RunScope: String, Sendable, CaseIterable {
    case all, subjects, study
}

/// What happened to one stage in a run.
public struct StageRecord: Codable, Sendable, Equatable {
    public var subject: String?
    public var stage: String
    public var kind: String
    /// "ran" or "cached".
    public var status: String
    public var seconds: Double
}

public struct RunResult: Sendable {
    public var records: [StageRecord]
    public var reports: [String]
    public var ran: Int { records.filter { $0.status == "ran" }.count }
    public var cached: Int { records.filter { $0.status == "cached" }.count }
}

/// Runs a plan: per-subject stages (subjects in parallel, `jobs` at a time), then study-level stages.
///
/// Caching and resume: a stage's cache key hashes Gantry's version, the stage kind, its parameters and
/// the content of its input files. Outputs are written into a temporary folder and moved into place
/// with `provenance.json` (holding the key and every output's SHA-256) only when the stage succeeded,
/// so a run killed at any moment leaves finished stages intact and no partial file where outputs
/// belong; the next run skips every stage whose key matches and whose outputs still have their
/// recorded hashes, and redoes the rest (a damaged output is rebuilt).
///
/// Concurrent runs on one OUT: each stage output (a subject's stage folder, a study-level stage) is
/// worked on under its own lock file, so a second run waits for the first to finish that stage and
/// then finds it cached; both succeed with the same outputs. Temporaries of a stage are removed only
/// by the holder of its lock, so they always belong to a dead run. Folders under OUT are created by
/// Gantry and never followed through a symbolic link.
public enum Executor {
    struct Killed: Error, CustomStringConvertible { var description: String { "run stopped (simulated kill)" } }

    /// Stage folders: each stage's outputs with its provenance (the unit of caching and resume).
    /// OUT itself is the BIDS derivatives dataset its outputs are published into.
    public static func stages(_ out: String) -> String { out + "/" + stagesFolder }
    public static let stagesFolder = "stages"
    public static func reports(_ out: String) -> String { out + "/reports" }

    public static func run(_ plan: Plan, options: RunOptions = RunOptions()) throws -> RunResult {
        try DerivativesDataset.write(plan)
        try FileLock.createFolders("reports/.gantry", under: plan.out)
        try RunManifest(plan: plan, executor: "local").announce(out: plan.out)
        let subjectSteps = options.scope == .study ? [] : plan.steps.filter { $0.kind.scope == .subject }
        let groupSteps = options.scope == .subjects ? [] : plan.steps.filter { $0.kind.scope == .group }
        let total = plan.subjects.count * subjectSteps.count + groupSteps.count
        var kinds: [String: Int] = [:]
        for step in subjectSteps { kinds[step.kind.name, default: 0] += plan.subjects.count }
        for step in groupSteps { kinds[step.kind.name, default: 0] += 1 }
        let state = RunState(total: total, kinds: kinds, options: options)

        let jobs = max(1, min(options.jobs, plan.subjects.count))
        // The cores are shared out between the subjects running at once, on each job's own thread.
        let perJob = max(1, Parallel.threads / jobs)
        let errors = LockedValue([Int: Error]())
        DispatchQueue.concurrentPerform(iterations: jobs) { worker in
            Parallel.withThreads(perJob) {
                var i = worker
                while i < plan.subjects.count {
                    let subject = plan.subjects[i]
                    // A failed stage stops only the stages that use its outputs (directly or
                    // through others): a sweep's other combinations still run.
                    var stopped = Set<String>(), first: Error?
                    for step in subjectSteps {
                        if !step.dependsOn.isDisjoint(with: stopped) { stopped.insert(step.stage.id); continue }
                        do { try runSubjectStage(step, subject: subject, plan: plan, state: state) } catch {
                            if error is Killed { first = error; break }
                            stopped.insert(step.stage.id)
                            if first == nil { first = error }
                        }
                    }
                    if let first {
                        errors.value[i] = first
                        if first is Killed { state.stop() }  // a simulated kill ends the run; other subjects go on otherwise
                    }
                    i += jobs
                }
            }
        }
        let failures = errors.value
        if let first = failures.keys.sorted().first, let e = failures[first] {
            if e is Killed { throw e }
            try runFailureReports(groupSteps, plan: plan, state: state)
            // A failed subject does not stop the others: the error names every one that failed.
            guard plan.subjects.count > 1 else { throw GantryError.invalidArgument("\(plan.subjects[first]): \(e)") }
            let listed = failures.keys.sorted().map { "\(plan.subjects[$0]) (\(failures[$0].map { "\($0)" } ?? ""))" }
            throw GantryError.invalidArgument("\(failures.count) of \(plan.subjects.count) subject(s) failed, the others finished; study stages not run: " + listed.joined(separator: "; "))
        }
        var reportFiles: [String] = []
        if options.scope == .study && !groupSteps.isEmpty { try requireFinishedSubjects(plan, groupSteps: groupSteps, state: state) }
        for step in groupSteps { reportFiles += try runGroupStage(step, plan: plan, state: state) }
        return RunResult(records: state.records, reports: reportFiles)
    }

    /// A study-level part run on its own (a Slurm dependent job) needs every subject's stages
    /// finished; otherwise — as a local run does — the stages that report failures run over what
    /// the finished subjects wrote, and the error names the subjects that did not finish, each
    /// with why, recorded for the other study stages.
    static func requireFinishedSubjects(_ plan: Plan, groupSteps: [Plan.Step], state: RunState) throws {
        let stages = plan.steps.filter { $0.kind.scope == .subject }.map(\.stage.id)
        var missing: [String] = []
        for subject in plan.subjects {
            let unit = RunStatus.Unit(name: subject, stages: try stages.map { stage in
                let e = RunStatus.entry(out: plan.out, subject: subject, stage: stage)
                guard e.status == .running else { return e }
                // Another run works on it now: wait for its lock, then judge what it left.
                try FileLock.withExclusive(RunLayout.lockPath(plan.out, subject: subject, stage: stage)) {}
                return RunStatus.entry(out: plan.out, subject: subject, stage: stage)
            })
            if !unit.done { missing.append("\(subject) (\(RunStatus.reason(unit)))") }
        }
        guard !missing.isEmpty else { return }
        let message = "\(missing.count) of \(plan.subjects.count) subject(s) did not finish: " + missing.joined(separator: "; ")
        let reported = try runFailureReports(groupSteps, plan: plan, state: state)
        for step in groupSteps where !reported.contains(step.stage.id) {
            try StateStore.write(.now(.failed, subject: nil, stage: step.stage.id, error: message, job: state.options.batchJob), out: plan.out)
        }
        throw GantryError.invalidArgument("study stages not run: " + message)
    }

    /// Input files of a stage for one subject, each with the sweep values of the stage that wrote it.
    static func resolve(_ step: Plan.Step, subject: String, plan: Plan) throws -> [String: [SubjectFile]] {
        var out: [String: [SubjectFile]] = [:]
        for (name, refs) in step.stage.inputs {
            for ref in refs {
                let parts = ref.split(separator: ".", maxSplits: 1).map(String.init)
                if parts[0] == "inputs" {
                    guard let f = plan.inputFiles[subject]?[parts[1]] else { throw GantryError.invalidArgument("no input \(parts[1]) for \(subject)") }
                    out[name, default: []].append(SubjectFile(subject: subject, path: f))
                } else {
                    guard let src = plan.steps.first(where: { $0.stage.id == parts[0] }),
                          let file = src.kind.outputFiles(parameters: src.parameters)[parts[1]] else {
                        throw GantryError.invalidArgument("stage \(parts[0]) has no output \(parts[1])")
                    }
                    out[name, default: []].append(SubjectFile(subject: subject, path: "\(stages(plan.out))/\(subject)/\(parts[0])/\(file)",
                                                              stage: parts[0], matrix: src.stage.matrix))
                }
            }
        }
        return out
    }

    static func cacheKey(_ step: Plan.Step, inputs: [String: [SubjectFile]], runState: String? = nil) throws -> (String, [String: Any]) {
        var h = try SHA256()
        h.update("gantry \(GantryVersion.string)\n\(step.kind.name)\n")
        if let runState { h.update("run state:\n\(runState)\n") }
        let files = Set(step.kind.parameters.filter { $0.type == .file }.map(\.name))
        for (k, v) in step.parameters.sorted(by: { $0.key < $1.key }) {
            // A file parameter counts by its content: the same model found elsewhere is the same stage.
            if files.contains(k), let path = v.stringValue, !path.isEmpty { h.update("\(k)=sha256:\(try SHA256.file(path))\n") } else { h.update("\(k)=\(v.json)\n") }
        }
        var record: [String: Any] = [:]
        for (name, files) in inputs.sorted(by: { $0.key < $1.key }) {
            var list: [[String: String]] = []
            for f in files {
                let digest = try SHA256.fileOrFolder(f.path)
                h.update("\(name):\(f.subject)=\(digest)\n")
                list.append(["subject": f.subject, "path": f.path, "sha256": digest])
            }
            record[name] = list
        }
        return (h.finalize(), record)
    }

    /// Whether a finished stage can be reused: same key, and every output file (by name) still has
    /// the SHA-256 its provenance recorded.
    static func cached(_ provenance: String, key: String, outputs: [String: String]) -> Bool {
        guard let data = FileManager.default.contents(atPath: provenance),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              obj["cache_key"] as? String == key,
              let recorded = obj["output_sha256"] as? [String: String] else { return false }
        return outputs.allSatisfy { file, path in recorded[file].map { (try? SHA256.file(path)) == $0 } ?? false }
    }

    /// SHA-256 of each output, by file name.
    static func outputHashes(_ outputs: [String: String]) throws -> [String: String] {
        var h: [String: String] = [:]
        for (file, path) in outputs { h[file] = try SHA256.file(path) }
        return h
    }

    /// Removes what interrupted runs of stage `id` left in `folder`: its temporary and old folders
    /// and the temporaries of atomic writes made inside them. Called only under the stage's lock.
    static func removeLeftovers(of id: String, in folder: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") {
            let rest = name.drop { $0 == "." }
            if rest.hasPrefix("\(id).tmp-") || rest.hasPrefix("\(id).old-") { try? fm.removeItem(atPath: "\(folder)/\(name)") }
        }
    }

    static func provenance(_ step: Plan.Step, subject: String?, key: String, inputs: [String: Any], outputs: [String: String], seconds: Double,
                           warnings: [String] = []) throws -> [UInt8] {
        var obj: [String: Any] = [
            "gantry_version": GantryVersion.string,
            "stage": step.stage.id,
            "kind": step.kind.name,
            "subject": subject ?? NSNull(),
            "parameters": step.parameters.mapValues { $0.jsonObject },
            "inputs": inputs,
            "outputs": outputs.keys.sorted(),
            "output_sha256": try outputHashes(outputs),
            "cache_key": key,
            "finished": ISO8601DateFormatter().string(from: Date()),
            "seconds": seconds,
        ]
        if !warnings.isEmpty { obj["warnings"] = warnings }
        return try FileIO.jsonBytes(obj)
    }

    static func runSubjectStage(_ step: Plan.Step, subject: String, plan: Plan, state: RunState) throws {
        try state.checkStopped()
        let parent = try FileLock.createFolders("\(stagesFolder)/\(subject)", under: plan.out)
        try underStageLock(plan, subject: subject, stage: step.stage.id, job: state.options.batchJob) {
            try runSubjectStageLocked(step, subject: subject, plan: plan, state: state, parent: parent)
        }
    }

    /// Runs `body` holding the stage's lock; a failure (not a simulated kill) is recorded in the
    /// stage's state file, where `gantry status` reads it.
    static func underStageLock<T>(_ plan: Plan, subject: String?, stage: String, job: String?, _ body: () throws -> T) throws -> T {
        try FileLock.withExclusive(RunLayout.lockPath(plan.out, subject: subject, stage: stage)) {
            do { return try body() } catch {
                if !(error is Killed) { try? StateStore.write(.now(.failed, subject: subject, stage: stage, error: "\(error)", job: job), out: plan.out) }
                throw error
            }
        }
    }

    static func runSubjectStageLocked(_ step: Plan.Step, subject: String, plan: Plan, state: RunState, parent: String) throws {
        let fm = FileManager.default
        let dir = "\(parent)/\(step.stage.id)"
        removeLeftovers(of: step.stage.id, in: parent)
        let inputs = StageInputs(files: try resolve(step, subject: subject, plan: plan))
        let paths = inputs.files.compactMapValues(\.first?.path)
        let (key, inputRecord) = try cacheKey(step, inputs: inputs.files)
        let files = step.kind.outputFiles(parameters: step.parameters)
        if cached("\(dir)/provenance.json", key: key, outputs: Dictionary(files.values.map { ($0, "\(dir)/\($0)") }) { a, _ in a }) {
            try BIDSPublication.publish(step, subject: subject, stageFolder: dir, inputs: paths, plan: plan)
            try state.record(StageRecord(subject: subject, stage: step.stage.id, kind: step.kind.name, status: "cached", seconds: 0), out: plan.out)
            return
        }
        // Marked running only now: a stage found cached keeps its finished state throughout.
        try StateStore.write(.now(.running, subject: subject, stage: step.stage.id, job: state.options.batchJob), out: plan.out)
        let tmp = "\(parent)/.\(step.stage.id).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        do {
            let t0 = Date()
            let outputs = files.mapValues { "\(tmp)/\($0)" }
            let warnings = LockedValue([String]())
            let progress = state.options.progress
            try step.kind.run(inputs: inputs, parameters: step.parameters, outputs: outputs,
                              context: StageContext(subject: subject, stageID: step.stage.id, outputRoot: plan.out) { w in
                                  warnings.value.append(w)
                                  progress("warning: \(subject) \(step.stage.id): \(w)")
                              })
            for (name, p) in outputs where !fm.fileExists(atPath: p) {
                throw GantryError.invalidArgument("stage '\(step.stage.id)' did not write its output '\(name)'")
            }
            let seconds = Date().timeIntervalSince(t0)
            let written = Dictionary(files.values.map { ($0, "\(tmp)/\($0)") }) { a, _ in a }
            try FileIO.writeAtomically("\(tmp)/provenance.json", bytes: try provenance(step, subject: subject, key: key, inputs: inputRecord, outputs: written,
                                                                                   seconds: seconds, warnings: warnings.value))
            // Swap the finished folder into place.
            if fm.fileExists(atPath: dir) {
                let old = "\(parent)/.\(step.stage.id).old-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                try fm.moveItem(atPath: dir, toPath: old)
                try fm.moveItem(atPath: tmp, toPath: dir)
                try? fm.removeItem(atPath: old)
            } else {
                try fm.moveItem(atPath: tmp, toPath: dir)
            }
            try BIDSPublication.publish(step, subject: subject, stageFolder: dir, inputs: paths, plan: plan)
            try state.record(StageRecord(subject: subject, stage: step.stage.id, kind: step.kind.name, status: "ran", seconds: seconds), out: plan.out)
        } catch {
            try? fm.removeItem(atPath: tmp)
            if error is Killed { throw error }
            throw GantryError.invalidArgument("stage '\(step.stage.id)' (\(step.kind.name)): \(error)")
        }
        try state.countRun()
    }

    /// `partial`: over the files finished subjects wrote, the rest passed on as missing.
    static func runGroupStage(_ step: Plan.Step, plan: Plan, state: RunState, partial: Bool = false) throws -> [String] {
        try state.checkStopped()
        let reportDir = reports(plan.out)
        return try underStageLock(plan, subject: nil, stage: step.stage.id, job: state.options.batchJob) {
            try runGroupStageLocked(step, plan: plan, state: state, reportDir: reportDir, partial: partial)
        }
    }

    /// The study stages that report failures, run over what the subjects did write, when some
    /// failed (the others wait for a complete study). Only those reading subject outputs alone.
    /// Returns the ids of the stages it ran.
    @discardableResult
    static func runFailureReports(_ groupSteps: [Plan.Step], plan: Plan, state: RunState) throws -> Set<String> {
        let groupIDs = Set(groupSteps.map(\.stage.id))
        var ran: Set<String> = []
        for step in groupSteps where step.kind.reportsFailures {
            guard step.dependsOn.isDisjoint(with: groupIDs) else { continue }
            _ = try runGroupStage(step, plan: plan, state: state, partial: true)
            ran.insert(step.stage.id)
        }
        return ran
    }

    static func runGroupStageLocked(_ step: Plan.Step, plan: Plan, state: RunState, reportDir: String, partial: Bool = false) throws -> [String] {
        let fm = FileManager.default
        removeLeftovers(of: step.stage.id, in: reportDir)
        var files: [String: [SubjectFile]] = [:], missing: [String: [SubjectFile]] = [:]
        for sub in plan.subjects {
            for (name, list) in try resolve(step, subject: sub, plan: plan) {
                for f in list {
                    // A partial report reads only finished stages (an output with its provenance).
                    let finished = f.stage == nil || fm.fileExists(atPath: (f.path as NSString).deletingLastPathComponent + "/provenance.json")
                    if partial && !finished { missing[name, default: []].append(f) } else { files[name, default: []].append(f) }
                }
            }
        }
        let (key, inputRecord) = try cacheKey(step, inputs: files, runState: step.kind.runState(root: plan.out))
        let outFiles = step.kind.outputFiles(parameters: step.parameters)
        let finalPaths = outFiles.mapValues { "\(reportDir)/\($0)" }
        let prov = "\(reportDir)/.gantry/\(step.stage.id).json"
        if cached(prov, key: key, outputs: Dictionary(outFiles.values.map { ($0, "\(reportDir)/\($0)") }) { a, _ in a }) {
            try state.record(StageRecord(subject: nil, stage: step.stage.id, kind: step.kind.name, status: "cached", seconds: 0), out: plan.out)
            return finalPaths.values.sorted()
        }
        try StateStore.write(.now(.running, subject: nil, stage: step.stage.id, job: state.options.batchJob), out: plan.out)
        try? fm.removeItem(atPath: prov)
        let tmp = "\(reportDir)/.\(step.stage.id).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: tmp) }
        let t0 = Date()
        let outputs = outFiles.mapValues { "\(tmp)/\($0)" }
        do {
            try step.kind.run(inputs: StageInputs(files: files, missing: missing), parameters: step.parameters, outputs: outputs,
                              context: StageContext(subject: nil, stageID: step.stage.id, outputRoot: plan.out))
        } catch {
            throw GantryError.invalidArgument("stage '\(step.stage.id)' (\(step.kind.name)): \(error)")
        }
        for (name, p) in outputs where !fm.fileExists(atPath: p) {
            throw GantryError.invalidArgument("stage '\(step.stage.id)' did not write its output '\(name)'")
        }
        let seconds = Date().timeIntervalSince(t0)
        let record = try provenance(step, subject: nil, key: key, inputs: inputRecord,
                                    outputs: Dictionary(outFiles.values.map { ($0, "\(tmp)/\($0)") }) { a, _ in a }, seconds: seconds)
        for (name, p) in outputs {
            guard let final = finalPaths[name] else { continue }
            guard rename(p, final) == 0 else { throw GantryError.writeFailed(path: final, problem: String(cString: strerror(errno))) }
        }
        try FileIO.writeAtomically(prov, bytes: record)
        try state.record(StageRecord(subject: nil, stage: step.stage.id, kind: step.kind.name, status: "ran", seconds: seconds), out: plan.out)
        try state.countRun()
        return finalPaths.values.sorted()
    }
}

/// Shared progress and bookkeeping of one run (thread-safe).
final class RunState: @unchecked Sendable {
    let total: Int
    let options: RunOptions
    let start = Date()
    private let lock = NSLock()
    private(set) var records: [StageRecord] = []
    private var ranCount = 0
    private var stopped = false
    /// Stages of each kind not yet finished, and the seconds those that ran took, per kind: stages
    /// of one pipeline differ by orders of magnitude (a zero-filled reconstruction and a CIRIM), so
    /// the ETA weighs what is left by what its kind has cost so far.
    private var left: [String: Int]
    private var spent: [String: (seconds: Double, count: Int)] = [:]

    init(total: Int, kinds: [String: Int] = [:], options: RunOptions) { self.total = total; self.left = kinds; self.options = options }

    /// Seconds still to go: the elapsed time scaled by the work left ÷ the work done, work being
    /// stage seconds (a kind not yet seen costs the mean of those that were).
    private func remainingSeconds(elapsed: Double) -> Double {
        let done = spent.values.reduce(0) { $0 + $1.seconds }
        let count = spent.values.reduce(0) { $0 + $1.count }
        guard done > 0, count > 0 else { return 0 }
        let mean = done / Double(count)
        let todo = left.reduce(0.0) { acc, e in acc + Double(e.value) * (spent[e.key].map { $0.seconds / Double($0.count) } ?? mean) }
        return elapsed * todo / done
    }

    /// Notes a finished stage: in this run's records, in its state file, and as a progress line.
    func record(_ r: StageRecord, out: String) throws {
        try StateStore.write(.now(r.status == "cached" ? .cached : .ran, subject: r.subject, stage: r.stage, seconds: r.seconds, job: options.batchJob), out: out)
        lock.lock()
        records.append(r)
        let done = records.count
        left[r.kind, default: 1] -= 1
        if r.status == "ran" { spent[r.kind, default: (0, 0)].seconds += r.seconds; spent[r.kind, default: (0, 0)].count += 1 }
        let eta = remainingSeconds(elapsed: Date().timeIntervalSince(start))
        lock.unlock()
        let who = r.subject.map { "\($0) " } ?? ""
        let what = r.status == "cached" ? "cached" : String(format: "ran in %.2f s", r.seconds)
        options.progress(String(format: "[%d/%d] %@%@ (%@): %@ — ETA %.0f s", done, total, who, r.stage, r.kind, what, eta))
    }

    func countRun() throws {
        lock.lock(); defer { lock.unlock() }
        ranCount += 1
        if let n = options.stopAfter, ranCount >= n { stopped = true; throw Executor.Killed() }
    }

    func stop() { lock.lock(); stopped = true; lock.unlock() }

    func checkStopped() throws {
        lock.lock(); defer { lock.unlock() }
        if stopped && options.stopAfter != nil { throw Executor.Killed() }
    }
}
