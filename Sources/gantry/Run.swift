import ArgumentParser
import Foundation
import GantryCore
import GantryPipeline

extension Gantry {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline (YAML) on a study folder.",
            discussion: """
            Outputs: OUT/derivatives/gantry/<subject>/<stage>/ (with provenance.json) and OUT/reports/. \
            Re-running skips every stage whose inputs and parameters are unchanged; a killed run resumes.
            """
        )

        @Argument(help: "Pipeline file (see pipelines/).")
        var pipeline: String

        @Option(help: "Study folder (sub-*/…).")
        var study: String

        @Option(help: "Output folder.")
        var out: String

        @Option(help: "Subjects processed in parallel (cores are shared between them).")
        var jobs: Int = 1

        @Option(name: .customLong("subject"), help: "Run only this subject (repeatable; 01 or sub-01).")
        var subjects: [String] = []

        @Flag(help: "Print the plan and exit.")
        var dryRun = false

        @Flag(help: "Accept study files that are symbolic links to places outside the study folder.")
        var followSymlinks = false

        @Option(help: "A folder searched for model checkpoints a pipeline names (repeatable); after the pipeline's own folder, before the installed share/gantry/models.")
        var models: [String] = []

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1…64") }
        }

        func run() throws {
            let spec = try PipelineSpec.load(pipeline)
            let plan = try Plan.make(spec: spec, study: study, out: out, subjects: subjects, followSymlinks: followSymlinks, models: models)
            if dryRun {
                print("pipeline \(spec.name): \(plan.subjects.count) subject(s), \(plan.steps.count) stage(s)")
                for step in plan.steps {
                    let ins = step.stage.inputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    let ps = step.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    print("  \(step.stage.id) [\(step.kind.name), \(step.kind.scope.rawValue)] \(ins) \(ps)")
                }
                for s in plan.subjects { print("  \(s): " + (plan.inputFiles[s] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
                return
            }
            output.apply()
            let result = try Executor.run(plan, options: RunOptions(jobs: jobs, progress: { Log.progress($0) }))
            print("ran \(result.ran) stage(s), \(result.cached) cached")
            for r in result.reports { print(r) }
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
