import ArgumentParser
import Foundation
import GantryIO

extension Gantry {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring scanner data into a study folder.", subcommands: [ImportDICOM.self])
    }

    struct ImportDICOM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dicom",
            abstract: "Convert a DICOM folder (dcm2niix) into BIDS: STUDY/sub-XX[/ses-YY]/anat/sub-XX[_ses-YY]_T1w.nii.gz, … with sidecars.",
            discussion: """
            Series are named from their SeriesDescription and ProtocolName: FLAIR, ce-gd_T1w (T1 with \\
            gd/gad/post/+c/contrast), T1w (t1, mprage, spgr, bravo, tfl), T2w — or by --config \\
            ({"series": [{"pattern": "regex", "name": "T1w"}, …]}, first match wins). Series no rule \\
            names are listed, not guessed; two series with one name are refused.
            """
        )
        @Argument(help: "Folder of DICOM files (searched recursively by dcm2niix).") var dicom: String
        @Option(help: "Study folder (created if missing).") var out: String
        @Option(help: "Subject label (01 or sub-01).") var subject: String
        @Option(help: "Session label (01 or ses-01).") var session: String?
        @Option(help: "Naming rules (JSON).") var config: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            output.apply()
            let rules = try config.map { try DICOMImport.rules(fromFile: $0) } ?? DICOMImport.defaultRules
            let r = try DICOMImport.run(dicom: dicom, study: out, subject: subject, session: session, rules: rules)
            for u in r.unmapped { Log.warning("not imported: \(u) — no naming rule matches (add one with --config)") }
            for f in r.written where f.hasSuffix(".nii.gz") { print(out + "/" + f) }
        }
    }
}
