import Foundation
import GantryIO

/// The state of every subject and stage of an output folder, from the run's own state files and
/// stage locks — no scheduler query. A stage recorded as running whose lock nobody holds was
/// interrupted (its process died: killed, out of memory, node lost): the kernel drops a flock with
/// its holder, so this needs no heartbeat.
public struct RunStatus: Sendable {
    public enum StageStatus: String, Sendable {
        case pending, running, ran, cached, failed, interrupted
        var finished: Bool { self == .ran || self == .cached }
    }

    public struct Entry: Sendable {
        public var stage: String
        public var status: StageStatus
        public var error: String?
        public var slurmJob: String?
        public var seconds: Double?
    }

    public struct Unit: Sendable {
        /// A subject, or `study` for the study-level stages.
        public var name: String
        public var stages: [Entry]

        /// done when every stage finished; else the first stage that failed, was interrupted or runs.
        public var summary: StageStatus {
            if stages.allSatisfy({ $0.status.finished }) { return .ran }
            for s: StageStatus in [.failed, .interrupted, .running] where stages.contains(where: { $0.status == s }) { return s }
            return .pending
        }
        public var problem: Entry? { stages.first { $0.status == .failed || $0.status == .interrupted } }
        public var done: Bool { stages.allSatisfy { $0.status.finished } }
    }

    public var manifest: RunManifest
    public var subjects: [Unit]
    public var study: Unit

    public var complete: Bool { subjects.allSatisfy(\.done) && study.done }

    public static func read(out: String) throws -> RunStatus {
        let manifest = try RunManifest.read(out: out)
        func unit(_ subject: String?, _ stages: [String]) -> Unit {
            Unit(name: subject ?? RunLayout.study, stages: stages.map { entry(out: out, subject: subject, stage: $0) })
        }
        return RunStatus(manifest: manifest, subjects: manifest.subjects.map { unit($0, manifest.subjectStages) },
                         study: unit(nil, manifest.studyStages))
    }

    static func entry(out: String, subject: String?, stage: String) -> Entry {
        guard let s = StateStore.read(out: out, subject: subject, stage: stage) else {
            return Entry(stage: stage, status: .pending)
        }
        var status: StageStatus
        switch s.status {
        case .ran: status = .ran
        case .cached: status = .cached
        case .failed: status = .failed
        case .running:
            status = FileLock.isHeld(RunLayout.lockPath(out, subject: subject, stage: stage)) ? .running : .interrupted
        }
        return Entry(stage: stage, status: status, error: s.error, slurmJob: s.slurmJob, seconds: s.seconds)
    }

    /// Subjects that did not finish, each with why (for the study job's report and `status`).
    public var unfinished: [(subject: String, reason: String)] {
        subjects.filter { !$0.done }.map { u in (u.name, Self.reason(u)) }
    }

    static func reason(_ u: Unit) -> String {
        if let p = u.problem {
            let job = p.slurmJob.map { ", Slurm task \($0)" } ?? ""
            return "\(p.stage) \(p.status.rawValue)\(job)" + (p.error.map { ": \($0)" } ?? "")
        }
        if let r = u.stages.first(where: { $0.status == .running }) { return "\(r.stage) running" + (r.slurmJob.map { " (Slurm task \($0))" } ?? "") }
        let pending = u.stages.filter { $0.status == .pending }.map(\.stage)
        return "not run: " + pending.joined(separator: ", ")
    }

    /// The lines `gantry status` prints.
    public var lines: [String] {
        var out = ["pipeline \(manifest.pipeline) (\(manifest.executor) executor): \(subjects.count) subject(s), \(manifest.subjectStages.count) subject stage(s), \(manifest.studyStages.count) study stage(s)"]
        let width = max(8, (subjects.map(\.name.count).max() ?? 0) + 2)
        for u in subjects + (study.stages.isEmpty ? [] : [study]) {
            let n = u.stages.filter { $0.status.finished }.count
            let name = u.name.padding(toLength: width, withPad: " ", startingAt: 0)
            out.append(u.done ? "\(name)done \(n)/\(u.stages.count)" : "\(name)\(u.summary.rawValue) \(n)/\(u.stages.count) — \(Self.reason(u))")
        }
        var counts: [String: Int] = [:]
        for u in subjects { counts[u.done ? "done" : u.summary.rawValue, default: 0] += 1 }
        let summary = ["done", "running", "pending", "failed", "interrupted"].compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(separator: ", ")
        out.append("subjects: \(summary); study stages: \(study.done ? "done" : study.summary.rawValue)")
        return out
    }

    /// The same, as JSON for scripts.
    public var json: [String: Any] {
        func unitJSON(_ u: Unit) -> [String: Any] {
            ["name": u.name, "status": u.done ? "done" : u.summary.rawValue,
             "stages": u.stages.map { e -> [String: Any] in
                 var d: [String: Any] = ["stage": e.stage, "status": e.status.rawValue]
                 if let x = e.error { d["error"] = x }
                 if let x = e.slurmJob { d["slurm_job"] = x }
                 if let x = e.seconds { d["seconds"] = x }
                 return d
             }]
        }
        var d: [String: Any] = ["pipeline": manifest.pipeline, "executor": manifest.executor, "complete": complete,
                                "subjects": subjects.map(unitJSON), "study": unitJSON(study)]
        if let j = manifest.slurmJobs { d["slurm_jobs"] = j }
        return d
    }
}
