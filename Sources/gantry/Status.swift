import ArgumentParser
import Foundation
import GantryPipeline

extension Gantry {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Where every subject and stage of a run stands (done, cached, running, failed, interrupted, pending).",
            discussion: """
            Read from the run's own state files in OUT/.gantry/ (no scheduler query): a stage that \\
            started and whose process died (killed, out of memory) shows as interrupted. Works for local \\
            runs and Slurm submissions alike. Exit status 0 whatever the state; use --json for scripts \\
            ("complete": true when everything finished).
            """
        )

        @Argument(help: "The output folder of `gantry run` or `gantry bids`.")
        var out: String

        @Flag(help: "Print the status as JSON.")
        var json = false

        func run() throws {
            let status = try RunStatus.read(out: out)
            if json { try printJSON(status.json) } else { status.lines.forEach { print($0) } }
        }
    }
}
