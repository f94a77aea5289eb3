import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantrySegmentation

/// `segment.unet3d`: a trained 3D U-Net (a Gantry checkpoint: MONAI UNet or AttentionUnet) on a subject's
/// co-registered contrasts; the mask carries the first contrast's affine. The model path is relative
/// to the pipeline file's folder or found on the models search path (`gantry run --models DIR`).
public enum UNetSegmentationStage: StageKind {
    public static let name = "segment.unet3d"
    public static let summary = "Brain-tumour segmentation with a trained 3D U-Net (sliding window)."
    public static let scope = StageScope.subject
    public static let requiredInputs = ["image1"]
    public static let optionalInputs = ["image2", "image3", "image4"]
    public static let outputs = ["mask": "mask.nii.gz"]
    public static let parameters = [
        ParameterSpec("model", .file, help: "checkpoint path (.safetensors)"),
        ParameterSpec("overlap", .double, default: .double(0.5), help: "sliding-window overlap"),
        ParameterSpec("keep_largest", .bool, default: .bool(false), help: "keep each label's largest connected component (MONAI KeepLargestConnectedComponent)"),
        ParameterSpec("label_convention", .string, default: .string("brats2023"), help: "labels of the mask: brats2023 (enhancing = 3) or brats2021 (enhancing = 4)"),
    ]

    static func convention(_ parameters: [String: ParameterValue]) throws -> BraTSConvention {
        let name = parameters["label_convention"]?.stringValue ?? "brats2023"
        guard let c = BraTSConvention(rawValue: name) else { throw GantryError.invalidArgument("label_convention must be brats2021 or brats2023, got '\(name)'") }
        return c
    }

    public static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName] {
        ["mask": .dseg(labels: ((try? convention(parameters)) ?? .brats2023).names)]
    }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        guard let path = parameters["model"]?.stringValue else { throw GantryError.invalidArgument("segment.unet3d needs a model") }
        let convention = try convention(parameters)
        let model = try SegmentationModel.load(path)
        let (images, warnings) = try SegmentationModel.readInputs(["image1", "image2", "image3", "image4"].compactMap { inputs.optionalPath($0) })
        let prepared = try model.prepare(images)
        for w in warnings + model.inputWarnings(prepared) { context.warn(w.hasPrefix("warning: ") ? String(w.dropFirst(9)) : w) }
        var mask = try model.labelMap(from: model.probabilities(prepared, overlap: parameters["overlap"]?.doubleValue ?? 0.5))
        if parameters["keep_largest"]?.boolValue == true { mask = try mask.keepingLargestComponent() }
        mask = try convention.fromGantryLabels(mask)
        guard let out = outputs["mask"] else { return }
        try NIfTI.write(mask, to: out, options: .init(datatype: .uint8))
    }
}
