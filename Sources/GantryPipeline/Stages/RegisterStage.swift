import Foundation
import GantryCore
import GantryRegistration

/// `register.rigid`, `register.affine`, `register.syn`: a subject's image (and its labels) onto a
/// fixed image (another subject, a template): warped image and labels on the fixed grid, the ITK
/// affine, registration.json (and field.nii.gz for syn) in the stage folder.
public protocol RegisterStageKind: StageKind {
    static var type: RegistrationType { get }
}

extension RegisterStageKind {
    public static var scope: StageScope { .subject }
    public static var requiredInputs: [String] { ["fixed", "moving", "moving_labels"] }
    public static var optionalInputs: [String] { ["fixed_labels", "fixed_mask", "moving_mask"] }
    public static var outputs: [String: String] {
        ["warped": "warped.nii.gz", "labels": "warped_labels.nii.gz", "transform": "affine.txt", "report": "registration.json"]
    }
    public static var parameters: [ParameterSpec] {
        [ParameterSpec("metric", .string, default: .string("ncc"), help: "mse, ncc or mi (different contrasts) for the linear part"),
         ParameterSpec("deformable_metric", .string, default: .string(DeformableSimilarity.standard.rawValue), help: "syn only: lncc (local cross-correlation, as ANTs SyN's CC) or mse (demons forces) for the deformable part"),
         ParameterSpec("interpolation", .string, default: .string("linear"), help: "linear or bspline (cubic) for the warped image; labels are always per-label linear + argmax")]
    }

    public static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName] {
        ["warped": .image(like: "moving", space: "template"), "labels": .dseg("template", labels: []), "transform": .xfm]
    }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        guard let metric = Similarity(rawValue: parameters["metric"]?.stringValue ?? "ncc") else { throw GantryError.invalidArgument("metric must be mse, ncc or mi") }
        guard let deformable = DeformableSimilarity(rawValue: parameters["deformable_metric"]?.stringValue ?? DeformableSimilarity.standard.rawValue) else {
            throw GantryError.invalidArgument("deformable_metric must be lncc or mse")
        }
        guard let interpolation = Interpolation(rawValue: parameters["interpolation"]?.stringValue ?? "linear"), interpolation != .nearest else {
            throw GantryError.invalidArgument("interpolation must be linear or bspline")
        }
        guard let folder = outputs["warped"].map({ ($0 as NSString).deletingLastPathComponent }) else { return }
        _ = try RegistrationJob.run(fixed: try inputs.path("fixed"), moving: try inputs.path("moving"), movingLabels: try inputs.path("moving_labels"),
                                    fixedLabels: inputs.optionalPath("fixed_labels"), type: type, metric: metric, deformableMetric: deformable, out: folder, interpolation: interpolation,
                                    fixedMask: inputs.optionalPath("fixed_mask"), movingMask: inputs.optionalPath("moving_mask"))
    }
}

public enum RigidRegistrationStage: RegisterStageKind {
    public static let name = "register.rigid", type = RegistrationType.rigid
    public static let summary = "Rigid registration (6 parameters) + warped image/labels, ITK transform."
}

public enum AffineRegistrationStage: RegisterStageKind {
    public static let name = "register.affine", type = RegistrationType.affine
    public static let summary = "Affine registration (12 parameters) + warped image/labels, ITK transform."
}

public enum SyNRegistrationStage: RegisterStageKind {
    public static let name = "register.syn", type = RegistrationType.syn
    public static let summary = "Affine + diffeomorphic inverse-consistent demons + warped image/labels, field."
}
