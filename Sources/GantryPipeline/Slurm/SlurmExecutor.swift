import Foundation
import GantryCore
import GantryIO

/// Runs a plan on a Slurm cluster: the per-subject stages as one job array (a task per chunk of
/// subjects), the study-level stages as one job that starts when every task has ended. Each task is
/// the ordinary `gantry run … --subject X`, so outputs, cache and provenance are those of a local
/// run, bit for bit, and re-submitting after failures redoes only what is missing.
///
/// Everything a submission writes — the scripts, the subject list the tasks read, Slurm's logs and
/// the job ids — stays under `OUT/.gantry/slurm/<submission>/` for inspection.
public enum SlurmExecutor {
    public struct Submission: Sendable {
        public var folder: String
        public var arrayJob: String?
        public var studyJob: String?
        public var tasks: Int
        public var arrayScript: String
        public var studyScript: String?
        public var jobs: [String] { [arrayJob, studyJob].compactMap { $0 } }
    }

    /// Builds the scripts; with `dryRun` nothing is written or submitted. `scope` `.subjects` submits
    /// the array alone, `.study` the study job alone (a BIDS App's participant and group levels).
    public static func submit(_ plan: Plan, command: TaskCommand, options: SlurmOptions, userSubjects: [String], scope: RunScope = .all,
                              client: SlurmClient, dryRun: Bool) throws -> Submission {
        let options = options.merged(with: plan.spec.resources)
        try check(plan: plan, command: command, options: options)
        let chunks = stride(from: 0, to: plan.subjects.count, by: options.chunk).map {
            Array(plan.subjects[$0..<min($0 + options.chunk, plan.subjects.count)])
        }
        let stamp = submissionStamp(Date())
        let folder = "\(RunLayout.slurmFolder(command.out))/\(stamp)-\(getpid())"
        let name = plan.spec.name.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        let arrayScript = SlurmScripts.array(name: name, tasks: chunks.count, folder: folder, command: command, options: options)
        let hasStudy = scope != .subjects && plan.steps.contains { $0.kind.scope == .group }
        let hasArray = scope != .study
        guard hasArray || hasStudy else { throw GantryError.invalidArgument("pipeline \(plan.spec.name) has no study-level stage to run") }
        let studyScript = hasStudy ? SlurmScripts.study(name: name, folder: folder, command: command, subjects: userSubjects, options: options) : nil
        var sub = Submission(folder: folder, arrayJob: nil, studyJob: nil, tasks: chunks.count, arrayScript: arrayScript, studyScript: studyScript)
        if dryRun { return sub }
        // Task indices run 1…N; a site's MaxArraySize (1001 by default) bounds N.
        if hasArray, let max = client.maxArraySize(), chunks.count > max - 1 {
            let chunk = (plan.subjects.count + max - 2) / (max - 1)
            throw GantryError.invalidArgument("\(chunks.count) array tasks exceed this cluster's MaxArraySize of \(max): use --chunk \(chunk) or more (subjects per task)")
        }

        let rel = String(folder.dropFirst(command.out.count + 1))
        try FileLock.createFolders(rel + "/logs", under: command.out)
        do {
            if hasArray {
                try FileIO.writeAtomically(folder + "/subjects.txt", text: chunks.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")
                try FileIO.writeAtomically(folder + "/array.sbatch", text: arrayScript)
            }
            if let s = studyScript { try FileIO.writeAtomically(folder + "/study.sbatch", text: s) }
            if hasArray { sub.arrayJob = try client.submit(folder + "/array.sbatch") }
            if studyScript != nil {
                do {
                    let after = sub.arrayJob.map { ["--dependency=afterany:\($0)", "--kill-on-invalid-dep=yes"] } ?? []
                    sub.studyJob = try client.submit(folder + "/study.sbatch", extra: after)
                } catch {
                    if let array = sub.arrayJob { client.cancel(array) }  // no array without the job that finishes it
                    throw error
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
        try RunManifest(plan: plan, executor: "slurm", slurmJobs: sub.jobs, slurmFolder: folder).announce(out: command.out)
        try FileIO.writeAtomically(folder + "/jobs.txt", text: sub.jobs.joined(separator: "\n") + "\n")
        return sub
    }

    /// What Slurm would refuse late, or a batch script could not carry, refused now.
    static func check(plan: Plan, command: TaskCommand, options: SlurmOptions) throws {
        guard options.chunk >= 1 else { throw GantryError.invalidArgument("--chunk must be at least 1") }
        if let k = options.arrayLimit, k < 1 { throw GantryError.invalidArgument("--array-limit must be at least 1") }
        // `#SBATCH --output=` lines cannot quote: the output folder must be one word.
        if command.out.contains(where: { $0.isWhitespace || $0 == "%" }) {
            throw GantryError.invalidArgument("\(command.out): the Slurm executor needs an output folder path without spaces or '%'")
        }
        for s in plan.subjects where !s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) {
            throw GantryError.invalidArgument("subject folder '\(s)': names with characters other than letters, digits, '-', '_', '.' cannot be passed to array tasks")
        }
        for a in options.extra where !a.hasPrefix("-") || a.contains("\n") {
            throw GantryError.invalidArgument("--sbatch-arg '\(a)': expected one sbatch option such as --qos=long")
        }
    }

    /// Waits for the submission's jobs to leave the queue, printing progress from the state files
    /// (no controller query) and asking the controller at most every `pollInterval` seconds, less
    /// often while nothing changes. Returns the final status.
    public static func wait(_ sub: Submission, out: String, options: SlurmOptions, client: SlurmClient,
                            progress: (String) -> Void) throws -> RunStatus {
        let active: Set<String> = ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT"]
        var interval = options.pollInterval
        var lastStates: [String: SlurmClient.JobState] = [:]
        var lastLine = ""
        var failures = 0
        while true {
            let states: [String: SlurmClient.JobState]
            do {
                states = try client.states(of: sub.jobs)
                failures = 0
            } catch {
                failures += 1
                progress("warning: \(error)")
                if failures >= 5 {
                    throw GantryError.invalidArgument("gave up waiting: the Slurm controller did not answer \(failures) times; the jobs may still run — see `gantry status \(out)`")
                }
                Thread.sleep(forTimeInterval: interval)
                continue
            }
            if let status = try? RunStatus.read(out: out) {
                let done = status.subjects.filter(\.done).count
                let line = "slurm: \(done)/\(status.subjects.count) subject(s) done; jobs: " +
                    Dictionary(grouping: states.values, by: \.state).map { "\($0.value.count) \($0.key.lowercased())" }.sorted().joined(separator: ", ")
                if line != lastLine { progress(line); lastLine = line }
            }
            if let (job, s) = states.first(where: { $0.value.state == "PENDING" && SlurmClient.hopeless.contains($0.value.reason) }) {
                throw GantryError.invalidArgument("Slurm job \(job) can never start as submitted (pending: \(s.reason)); cancel it with scancel \(sub.jobs.joined(separator: " ")) and re-submit with other resources")
            }
            if !states.values.contains(where: { active.contains($0.state) }) { break }
            // Back off while nothing changes, up to ten times the floor.
            interval = states == lastStates ? min(interval * 1.5, options.pollInterval * 10) : options.pollInterval
            lastStates = states
            Thread.sleep(forTimeInterval: interval)
        }
        return try RunStatus.read(out: out)
    }
}

/// Submission folder names: sortable, UTC.
func submissionStamp(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss"
    return f.string(from: date)
}
