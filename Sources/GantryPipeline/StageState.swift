import Foundation
import GantryCore
import GantryIO

/// What a run records of one stage of one subject (or of the study): the state files `gantry status`
/// reads instead of asking a scheduler. One small JSON file per subject and stage, under
/// `OUT/.gantry/state/<subject>/<stage>.json` (`study/` for study-level stages), written atomically
/// under the stage's lock by whichever run holds it — the local executor or a Slurm array task,
/// which is the same code.
public struct StageState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Started and not finished: live while its holder keeps the stage lock, else interrupted.
        case running
        case ran, cached, failed
    }

    public var status: Status
    public var subject: String?
    public var stage: String
    public var seconds: Double?
    /// The one-line error of a failed stage.
    public var error: String?
    public var host: String
    public var pid: Int32
    /// `JOBID_TASK` of the Slurm array task (or `JOBID` of a plain job) that wrote this, if any.
    public var slurmJob: String?
    public var updated: String

    /// A state stamped with this process: host, pid, time and, under Slurm, the job.
    static func now(_ status: Status, subject: String?, stage: String, seconds: Double? = nil, error: String? = nil, job: String?) -> StageState {
        StageState(status: status, subject: subject, stage: stage, seconds: seconds, error: error,
                   host: ProcessInfo.processInfo.hostName, pid: getpid(), slurmJob: job,
                   updated: ISO8601DateFormatter().string(from: Date()))
    }
}

/// The Slurm job a process runs in, from the variables Slurm sets in every job (the command line
/// reads its environment and passes the label on in `RunOptions.batchJob`).
public enum SlurmEnvironment {
    public static func jobLabel(_ env: [String: String]) -> String? {
        if let array = env["SLURM_ARRAY_JOB_ID"], let task = env["SLURM_ARRAY_TASK_ID"] { return "\(array)_\(task)" }
        return env["SLURM_JOB_ID"]
    }
}

/// Where state files and locks live in an output folder; the one place these paths are decided.
public enum RunLayout {
    /// The unit name of study-level stages in state files.
    public static let study = "study"

    public static func stateFolder(_ out: String) -> String { out + "/.gantry/state" }
    public static func statePath(_ out: String, subject: String?, stage: String) -> String {
        "\(stateFolder(out))/\(subject ?? study)/\(stage).json"
    }
    /// The lock a stage is worked on under (see `Executor`).
    public static func lockPath(_ out: String, subject: String?, stage: String) -> String {
        if let subject { return "\(Executor.stages(out))/\(subject)/.\(stage).lock" }
        return "\(Executor.reports(out))/.gantry/\(stage).lock"
    }
    /// What the latest run or submission planned (`RunManifest`).
    public static func manifestPath(_ out: String) -> String { out + "/.gantry/run.json" }
    public static func slurmFolder(_ out: String) -> String { out + "/.gantry/slurm" }
}

public enum StateStore {
    public static func write(_ state: StageState, out: String) throws {
        let unit = state.subject ?? RunLayout.study
        try FileLock.createFolders(".gantry/state/\(unit)", under: out)
        try FileIO.writeAtomically(RunLayout.statePath(out, subject: state.subject, stage: state.stage), bytes: try FileIO.jsonBytes(encoding: state))
    }

    public static func read(out: String, subject: String?, stage: String) -> StageState? {
        guard let data = FileManager.default.contents(atPath: RunLayout.statePath(out, subject: subject, stage: stage)) else { return nil }
        return try? JSONDecoder().decode(StageState.self, from: data)
    }
}

/// What a run or submission planned, so `gantry status` knows which subjects and stages to expect
/// (including those nothing has touched yet).
public struct RunManifest: Codable, Sendable, Equatable {
    public var pipeline: String
    public var subjects: [String]
    public var subjectStages: [String]
    public var studyStages: [String]
    public var executor: String
    /// Slurm job ids of the submission (array, study job), when there was one.
    public var slurmJobs: [String]?
    public var slurmFolder: String?
    public var created: String

    public init(plan: Plan, executor: String, slurmJobs: [String]? = nil, slurmFolder: String? = nil) {
        pipeline = plan.spec.name
        subjects = plan.subjects
        subjectStages = plan.steps.filter { $0.kind.scope == .subject }.map(\.stage.id)
        studyStages = plan.steps.filter { $0.kind.scope == .group }.map(\.stage.id)
        self.executor = executor
        self.slurmJobs = slurmJobs
        self.slurmFolder = slurmFolder
        created = ISO8601DateFormatter().string(from: Date())
    }

    /// Records what a run or submission plans, keeping what earlier ones planned for the same
    /// pipeline (subjects are added, never dropped). A run covered by the record already — a Slurm
    /// task, a re-run of some subjects — leaves it as it is.
    public func announce(out: String) throws {
        var merged = self
        if let old = try? RunManifest.read(out: out), old.pipeline == pipeline, old.subjectStages == subjectStages, old.studyStages == studyStages {
            if Set(subjects).isSubset(of: old.subjects) && slurmJobs == nil { return }
            merged.subjects = Array(Set(old.subjects).union(subjects)).sorted()
        }
        try merged.write(out: out)
    }

    public func write(out: String) throws {
        try FileLock.createFolders(".gantry", under: out)
        try FileIO.writeAtomically(RunLayout.manifestPath(out), bytes: try FileIO.jsonBytes(encoding: self))
    }

    public static func read(out: String) throws -> RunManifest {
        let path = RunLayout.manifestPath(out)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GantryError.fileNotFound(path: path + " (no Gantry run has used this output folder)")
        }
        do { return try JSONDecoder().decode(RunManifest.self, from: data) } catch {
            throw GantryError.invalidFile(path: path, problem: "not a Gantry run manifest")
        }
    }
}
