import Foundation
import GantryCore

/// Slurm's own commands (`sbatch`, `squeue`, `scancel`), run as a user would run them. Gantry talks
/// to the controller only through these, so it works with any site's Slurm version and
/// authentication, and counts its queries so a run can say how hard it leaned on the controller.
public final class SlurmClient: @unchecked Sendable {
    /// Controller queries made by this client (every command run counts as one).
    public var queries: Int { count.value }
    private let count = LockedValue(0)
    /// Seconds one command may take before it counts as a timed-out controller.
    let timeout: Double

    public init(timeout: Double = 120) { self.timeout = timeout }

    public struct Output { public var status: Int32; public var stdout: String; public var stderr: String }

    /// Runs `command args…` found on PATH; a missing command is a one-line error naming it.
    public func run(_ command: String, _ args: [String]) throws -> Output {
        guard let exe = Subprocess.find(command) else {
            throw GantryError.invalidArgument("'\(command)' not found on PATH — the Slurm executor needs Slurm's client commands (is this a Slurm login node?)")
        }
        count.value += 1
        let r = try Subprocess.run(exe, args, timeout: timeout)
        if r.timedOut {
            throw GantryError.invalidArgument("\(command) did not answer within \(Int(timeout)) s (Slurm controller unreachable?)")
        }
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// `sbatch --parsable …script`: the job id, or the controller's reason as a one-line error.
    public func submit(_ script: String, extra: [String] = []) throws -> String {
        let r = try run("sbatch", ["--parsable"] + extra + [script])
        let id = r.stdout.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw GantryError.invalidArgument("sbatch refused \((script as NSString).lastPathComponent): \(Self.reason(r))")
        }
        return id
    }

    /// A job's state and, while pending, why (`Resources`, `Dependency`, `PartitionConfig`, …).
    public struct JobState: Sendable, Equatable { public var state: String; public var reason: String }

    /// Pending reasons no wait will cure: the job can never start as submitted.
    public static let hopeless: Set<String> = ["PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints",
                                                "DependencyNeverSatisfied", "InvalidAccount", "InvalidQOS"]

    /// States of the given jobs (array tasks as `JOB_TASK`), finished ones included while the
    /// controller still remembers them. Retries with back-off when the controller does not answer.
    public func states(of jobs: [String], attempts: Int = 4) throws -> [String: JobState] {
        var delay = 2.0
        var last = ""
        for attempt in 1...attempts {
            do {
                let r = try run("squeue", ["-h", "-r", "-t", "all", "-j", jobs.joined(separator: ","), "-o", "%i %T %r"])
                if r.status == 0 {
                    var states: [String: JobState] = [:]
                    for line in r.stdout.split(separator: "\n") {
                        let f = line.split(separator: " ", maxSplits: 2).map(String.init)
                        if f.count >= 2 { states[f[0]] = JobState(state: f[1], reason: f.count > 2 ? f[2] : "") }
                    }
                    return states
                }
                // Jobs the controller has forgotten are finished, not an error.
                if r.stderr.contains("Invalid job id") { return [:] }
                last = Self.reason(r)
            } catch {
                last = "\(error)"
            }
            if attempt < attempts { Thread.sleep(forTimeInterval: delay); delay *= 2 }
        }
        throw GantryError.invalidArgument("Slurm controller not answering after \(attempts) tries: \(last)")
    }

    public func cancel(_ job: String) { _ = try? run("scancel", [job]) }

    /// The cluster's `MaxArraySize` (array indices run 0…MaxArraySize−1), or nil if it cannot be read.
    public func maxArraySize() -> Int? {
        guard let r = try? run("scontrol", ["show", "config"]), r.status == 0 else { return nil }
        for line in r.stdout.split(separator: "\n") where line.hasPrefix("MaxArraySize") {
            return line.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    static func reason(_ r: Output) -> String {
        let lines = (r.stderr + "\n" + r.stdout).split(separator: "\n").map { String($0).replacingOccurrences(of: "sbatch: error: ", with: "") }
        return lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? "exit status \(r.status)"
    }
}
