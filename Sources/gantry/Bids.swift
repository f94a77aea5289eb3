import ArgumentParser
import Foundation
import GantryPipeline

extension Gantry {
    /// The BIDS-App command line (`app bids_dir output_dir participant|group`), the one every
    /// neuroimaging cluster user already runs fMRIPrep and MRIQC with.
    struct Bids: ParsableCommand {
        enum AnalysisLevel: String, CaseIterable, ExpressibleByArgument { case participant, group }

        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline as a BIDS App: gantry bids BIDS_DIR OUTPUT_DIR participant|group --pipeline P.yaml.",
            discussion: """
            participant runs the per-subject stages for the labels given (all subjects when none), one \
            unit per session where sessions exist; group runs the study-level stages (reports) once every \
            chosen subject has finished. The same as `gantry run P.yaml --study BIDS_DIR --out OUTPUT_DIR \
            --scope subjects|study`; OUTPUT_DIR is a BIDS derivatives dataset (dataset_description.json, \
            sub-*/anat/sub-*_space-orig_desc-<stage>_dseg.nii.gz with sidecars). With --executor slurm, participant submits one job array (a task \
            per subject) and group one job.
            """
        )

        @Argument(help: "The BIDS dataset (with dataset_description.json).")
        var bidsDir: String

        @Argument(help: "Output folder.")
        var outputDir: String

        @Argument(help: "participant or group.")
        var analysisLevel: AnalysisLevel

        @Option(name: [.customLong("participant-label"), .customLong("participant_label")], parsing: .upToNextOption,
                help: "Subjects to process (01 or sub-01; several after one flag).")
        var participantLabel: [String] = []

        @Option(name: [.customLong("session-label"), .customLong("session_label")], parsing: .upToNextOption,
                help: "Sessions to process (01 or ses-01).")
        var sessionLabel: [String] = []

        @Option(help: "Pipeline file (see pipelines/).")
        var pipeline: String

        @OptionGroup var options: PlanOptions

        func validate() throws { try options.validate() }

        func run() throws {
            let description = bidsDir + "/dataset_description.json"
            guard FileManager.default.fileExists(atPath: description) else {
                throw ValidationError("\(bidsDir) is not a BIDS dataset (no dataset_description.json)")
            }
            try options.execute(pipeline: pipeline, study: bidsDir, out: outputDir, subjects: participantLabel, sessions: sessionLabel,
                                scope: analysisLevel == .participant ? .subjects : .study)
        }
    }
}
