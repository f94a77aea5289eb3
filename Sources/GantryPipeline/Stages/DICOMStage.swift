import Foundation
import GantryCore
import GantryIO

/// `io.dicom`: one series of a subject's DICOM folder as NIfTI with its BIDS sidecar, so a study can
/// start from what the scanner exported. The folder is converted by dcm2niix and the series named by
/// the same rules as `gantry import dicom` (SeriesDescription/ProtocolName patterns; `config` for
/// others); the stage takes the series named `series`. Series no rule names are reported as a
/// warning, a missing one is an error naming those that were found.
public enum DICOMStage: StageKind {
    public static let name = "io.dicom"
    public static let summary = "One series of a DICOM folder as NIfTI + BIDS sidecar (dcm2niix; named by rules)."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["dicom"]
    public static let outputs = ["image": "image.nii.gz", "sidecar": "image.json"]
    public static let parameters = [
        ParameterSpec("series", .string, help: "the BIDS name of the series to take: T1w, ce-gd_T1w, T2w, FLAIR (or a name the config gives)"),
        ParameterSpec("config", .file, default: .string(""), help: "naming rules, JSON {\"series\": [{\"pattern\": …, \"name\": …}]} (default: the four tumour contrasts)"),
    ]

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let dicom = try inputs.path("dicom")
        guard let series = parameters["series"]?.stringValue, !series.isEmpty else { throw GantryError.invalidArgument("io.dicom needs series (T1w, ce-gd_T1w, T2w, FLAIR, …)") }
        guard let image = outputs["image"], let sidecar = outputs["sidecar"] else { return }
        let config = parameters["config"]?.stringValue ?? ""
        let rules = config.isEmpty ? DICOMImport.defaultRules : try DICOMImport.rules(fromFile: config)
        // A scratch study inside the stage's own temporary folder, gone before the stage ends.
        let scratch = (image as NSString).deletingLastPathComponent + "/.dicom-import"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try DICOMImport.run(dicom: dicom, study: scratch, subject: "import", session: nil, rules: rules)
        if !result.unmapped.isEmpty { context.warn("not imported (no naming rule): " + result.unmapped.joined(separator: "; ")) }
        guard let found = result.written.first(where: { $0.hasSuffix("_\(series).nii.gz") }) else {
            let named = result.written.filter { $0.hasSuffix(".nii.gz") }.map { ($0 as NSString).lastPathComponent.replacingOccurrences(of: "sub-import_", with: "").replacingOccurrences(of: ".nii.gz", with: "") }
            throw GantryError.invalidArgument("no \(series) series in \(dicom) (found: \(named.joined(separator: ", ")))")
        }
        try FileManager.default.moveItem(atPath: "\(scratch)/\(found)", toPath: image)
        try FileManager.default.moveItem(atPath: "\(scratch)/\(found.dropLast(".nii.gz".count)).json", toPath: sidecar)
    }
}
