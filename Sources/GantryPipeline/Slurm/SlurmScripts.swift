import Foundation
import GantryCore

/// How a plan is laid out on a Slurm cluster: what each array task and the study job run, and with
/// what resources. Chosen by flags, then the pipeline's `resources:`, then the site's defaults.
public struct SlurmOptions: Sendable {
    public var partition: String?
    public var time: String?
    public var cpusPerTask: Int?
    public var mem: String?
    public var account: String?
    /// At most this many array tasks at once (`--array=1-N%K`).
    public var arrayLimit: Int?
    /// Subjects per array task.
    public var chunk: Int = 1
    /// Further `#SBATCH` lines, as given (`--qos=long`, `--constraint=avx512`, …).
    public var extra: [String] = []
    /// Seconds between controller queries while waiting (the floor; back-off raises it).
    public var pollInterval: Double = 30

    public init() {}

    /// Flags first, the pipeline's resources where a flag is absent.
    public func merged(with r: PipelineSpec.Resources) -> SlurmOptions {
        var o = self
        o.partition = partition ?? r.partition
        o.time = time ?? r.time
        o.cpusPerTask = cpusPerTask ?? r.cpusPerTask
        o.mem = mem ?? r.mem
        o.account = account ?? r.account
        return o
    }
}

/// The command one task runs: the ordinary `gantry run`, so caching, provenance, locks and atomic
/// outputs are the local executor's own code.
public struct TaskCommand: Sendable {
    public var gantry: String
    public var pipeline: String
    public var study: String
    public var out: String
    public var models: [String] = []
    public var followSymlinks = false

    public init(gantry: String, pipeline: String, study: String, out: String, models: [String] = [], followSymlinks: Bool = false) {
        self.gantry = gantry; self.pipeline = pipeline; self.study = study; self.out = out
        self.models = models; self.followSymlinks = followSymlinks
    }

    func words(scope: RunScope) -> [String] {
        var w = [gantry, "run", pipeline, "--study", study, "--out", out, "--scope", scope.rawValue]
        for m in models { w += ["--models", m] }
        if followSymlinks { w.append("--follow-symlinks") }
        return w.map(shellQuoted)
    }
}

/// Renders the two batch scripts of a submission.
public enum SlurmScripts {
    /// The job array: task i reads line i of `subjects.txt` (its chunk of subjects) and runs them.
    public static func array(name: String, tasks: Int, folder: String, command: TaskCommand, options: SlurmOptions) -> String {
        let limit = options.arrayLimit.map { "%\($0)" } ?? ""
        var s = header(name: name, output: "\(folder)/logs/task-%A_%a.log", options: options, extra: ["--array=1-\(tasks)\(limit)"])
        s += """
        line=$(sed -n "${SLURM_ARRAY_TASK_ID}p" \(shellQuoted(folder + "/subjects.txt")))
        if [ -z "$line" ]; then echo "gantry: no subjects for array task ${SLURM_ARRAY_TASK_ID}" >&2; exit 1; fi
        subjects=()
        for s in $line; do subjects+=(--subject "$s"); done
        exec \(command.words(scope: .subjects).joined(separator: " ")) --threads "${SLURM_CPUS_PER_TASK:-1}" "${subjects[@]}"

        """
        return s
    }

    /// The study-level job: runs after every array task ended (`afterany`), so it can name the
    /// subjects that failed instead of never starting.
    public static func study(name: String, folder: String, command: TaskCommand, subjects: [String], options: SlurmOptions) -> String {
        var s = header(name: name + "-study", output: "\(folder)/logs/study-%j.log", options: options, extra: [])
        let filter = subjects.map { "--subject \(shellQuoted($0))" }.joined(separator: " ")
        s += "exec \(command.words(scope: .study).joined(separator: " ")) --threads \"${SLURM_CPUS_PER_TASK:-1}\"\(filter.isEmpty ? "" : " " + filter)\n"
        return s
    }

    static func header(name: String, output: String, options: SlurmOptions, extra: [String]) -> String {
        var lines = ["#!/bin/bash", "#SBATCH --job-name=gantry-\(name)", "#SBATCH --output=\(output)"]
        lines += extra.map { "#SBATCH \($0)" }
        if let v = options.partition { lines.append("#SBATCH --partition=\(v)") }
        if let v = options.account { lines.append("#SBATCH --account=\(v)") }
        if let v = options.time { lines.append("#SBATCH --time=\(v)") }
        if let v = options.cpusPerTask { lines.append("#SBATCH --cpus-per-task=\(v)") }
        if let v = options.mem { lines.append("#SBATCH --mem=\(v)") }
        lines += options.extra.map { "#SBATCH \($0)" }
        lines += ["# Written by gantry run --executor slurm; each task is an ordinary `gantry run`.", "set -euo pipefail", ""]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `word` as one shell word (single quotes; a quote inside becomes '\'').
func shellQuoted(_ word: String) -> String {
    if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:+,@%".contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
