import GantryCore
import GantryIO

/// `io.convert`: an image in another format or stored datatype, geometry kept.
public enum ConvertStage: StageKind {
    public static let name = "io.convert"
    public static let summary = "Convert an image (.nii, .nii.gz, .h5), keeping geometry."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["image"]
    public static let outputs = ["image": "image.nii.gz"]
    public static let parameters = [
        ParameterSpec("format", .string, default: .string("nii.gz"), help: "nii, nii.gz or h5"),
        ParameterSpec("datatype", .string, default: .string(""), help: "stored NIfTI datatype (default: as read)"),
    ]

    public static func outputFiles(parameters: [String: ParameterValue]) -> [String: String] {
        ["image": "image." + (parameters["format"]?.stringValue ?? "nii.gz")]
    }

    public static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName] {
        parameters["format"]?.stringValue == "h5" ? [:] : ["image": .image(like: "image", space: "orig")]
    }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let format = parameters["format"]?.stringValue ?? "nii.gz"
        guard ["nii", "nii.gz", "h5"].contains(format) else { throw GantryError.invalidArgument("format must be nii, nii.gz or h5, got '\(format)'") }
        let dt = parameters["datatype"]?.stringValue ?? ""
        let type = dt.isEmpty ? nil : NIfTIDataType(name: dt)
        if !dt.isEmpty && type == nil { throw GantryError.invalidArgument("unknown datatype '\(dt)'") }
        guard let out = outputs["image"] else { return }
        try VolumeFile.convert(try inputs.path("image"), to: out, options: NIfTIWriteOptions(datatype: type))
    }
}
