import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryRecon

/// `recon.zero-filled`, `recon.sense`, `recon.cs-l1`, `recon.cs-tv`, `recon.rim`, `recon.cirim`: reconstruct a subject's
/// fastMRI-layout k-space (retrospectively undersampled when `acceleration` > 1), write the magnitude
/// image and its NMSE/PSNR/SSIM against the file's `reconstruction_rss`.
enum ReconStageShared {
    static let requiredInputs = ["kspace"]
    /// `grid`: an image of the subject the reconstruction must land on (same grid and affine) — the
    /// check that the k-space and the images it is compared with belong together.
    static let optionalInputs = ["grid"]
    static let outputs = ["image": "recon.nii.gz", "metrics": "metrics.json"]
    static let parameters = [
        ParameterSpec("acceleration", .double, default: .double(4), help: "retrospective acceleration (1 = use the data as they are)"),
        ParameterSpec("center_fraction", .double, default: .double(0.08), help: "fully sampled centre fraction"),
        ParameterSpec("mask", .string, default: .string("random"), help: "equispaced, random, gaussian1d, gaussian2d or poisson"),
        ParameterSpec("seed", .int, default: .int(0), help: "mask seed"),
        ParameterSpec("lambda", .double, default: .double(-1), help: "regularisation (−1: the method's default)"),
        ParameterSpec("iterations", .int, default: .int(0), help: "iterations (0: the method's default)"),
        ParameterSpec("maps", .string, default: .string("calibration"), help: "coil maps: calibration, espirit or file"),
    ]
    /// Learned methods also take their checkpoint (relative to the pipeline file, or on the models search path).
    static let learnedParameters = parameters + [
        ParameterSpec("model", .file, help: "RIM/CIRIM checkpoint (.safetensors)"),
        ParameterSpec("data_consistency", .bool, default: .bool(false),
                      help: "keep the measured k-space samples in the network's estimate, coils combined by RSS (false: atommic's output)"),
    ]

    static func run(_ method: ReconMethod, inputs: StageInputs, parameters p: [String: ParameterValue], outputs: [String: String]) throws {
        let accel = p["acceleration"]?.doubleValue ?? 4
        var mask: SamplingMask? = nil
        if accel > 1 {
            guard let kind = MaskKind(rawValue: p["mask"]?.stringValue ?? "random") else {
                throw GantryError.invalidArgument("mask must be one of \(MaskKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            mask = SamplingMask(kind: kind, acceleration: accel, centerFraction: p["center_fraction"]?.doubleValue ?? 0.08, seed: UInt64(max(0, p["seed"]?.intValue ?? 0)))
        }
        let lambda = p["lambda"]?.doubleValue.flatMap { $0 >= 0 ? Float($0) : nil }
        let iterations = p["iterations"]?.intValue.flatMap { $0 > 0 ? $0 : nil }
        guard let maps = CoilMaps(rawValue: p["maps"]?.stringValue ?? "calibration") else { throw GantryError.invalidArgument("maps must be espirit, calibration or file") }
        var options = ReconOptions(method: method, mask: mask, lambda: lambda, iterations: iterations, maps: maps)
        if method.isLearned {
            guard let path = p["model"]?.stringValue else { throw GantryError.invalidArgument("recon.\(method.rawValue) needs a model") }
            options.model = try ReconModel.load(path)
            options.dataConsistency = p["data_consistency"]?.boolValue ?? false
        }
        let job = ReconJob(input: try inputs.path("kspace"), options: options, outputs: outputs["image"].map { [.volume($0)] } ?? [],
                           grid: inputs.optionalPath("grid"))
        let (report, _) = try job.run()
        // Time is not a derivative (outputs are a function of inputs and parameters): report.recon
        // takes it from the stage's provenance.json.
        if let out = outputs["metrics"] { try report.withoutTimes.write(to: out) }
    }
}

/// A reconstruction stage kind: everything but the method is shared.
public protocol ReconStageKind: StageKind {
    static var method: ReconMethod { get }
}

extension ReconStageKind {
    public static var scope: StageScope { .subject }
    public static var requiredInputs: [String] { ReconStageShared.requiredInputs }
    public static var optionalInputs: [String] { ReconStageShared.optionalInputs }
    public static var outputs: [String: String] { ReconStageShared.outputs }
    public static var parameters: [ParameterSpec] { ReconStageShared.parameters }
    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        try ReconStageShared.run(method, inputs: inputs, parameters: parameters, outputs: outputs)
    }
}

public enum ZeroFilledStage: ReconStageKind {
    public static let name = "recon.zero-filled", method = ReconMethod.zeroFilled
    public static let summary = "Zero-filled RSS reconstruction (fastMRI baseline) + NMSE/PSNR/SSIM."
}

public enum SenseStage: ReconStageKind {
    public static let name = "recon.sense", method = ReconMethod.sense
    public static let summary = "CG-SENSE with Tikhonov (maps from the calibration region) + metrics."
}

public enum CSL1Stage: ReconStageKind {
    public static let name = "recon.cs-l1", method = ReconMethod.csL1
    public static let summary = "Compressed sensing, ℓ1-wavelet (FISTA, cycle spinning) + metrics."
}

/// Learned reconstructions: the shared parameters plus `model`.
public protocol LearnedReconStageKind: ReconStageKind {}

extension LearnedReconStageKind {
    public static var parameters: [ParameterSpec] { ReconStageShared.learnedParameters }
}

public enum RIMStage: LearnedReconStageKind {
    public static let name = "recon.rim", method = ReconMethod.rim
    public static let summary = "Recurrent inference machine (trained checkpoint, one cascade) + metrics."
}

public enum CIRIMStage: LearnedReconStageKind {
    public static let name = "recon.cirim", method = ReconMethod.cirim
    public static let summary = "Cascades of independently recurrent inference machines (trained checkpoint) + metrics."
}

public enum CSTVStage: ReconStageKind {
    public static let name = "recon.cs-tv", method = ReconMethod.csTV
    public static let summary = "Compressed sensing, total variation (primal–dual) + metrics."
}

/// `report.recon`: recon.csv (subject × method: R, NMSE, PSNR, SSIM, seconds per slice) over all
/// subjects and every recon stage wired to its `metrics` input list.
public enum ReconReportStage: StageKind {
    public static let name = "report.recon"
    public static let summary = "recon.csv: NMSE/PSNR/SSIM/time per subject and method."
    public static let scope = StageScope.group
    public static let requiredInputs = ["metrics"]
    public static let optionalInputs = (2...8).map { "metrics\($0)" }
    public static let outputs = ["csv": "recon.csv"]
    public static let parameters = [ParameterSpec("prefix", .string, default: .string(""), help: "prefix for the report file name")]

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        var rows = ["subject,method,acceleration,nmse,psnr_db,ssim,seconds_per_slice"]
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        for key in ["metrics"] + optionalInputs {
            for file in inputs.files[key] ?? [] {
                let m = try ReconReport.read(file.path)
                let perSlice = stageSeconds(besides: file.path).map { $0 / Double(max(1, m.slices)) }
                rows.append([file.subject, m.method, f(m.acceleration), f(m.nmse), f(m.psnr), f(m.ssim), f(perSlice)].joined(separator: ","))
            }
        }
        if let out = outputs["csv"] { try FileIO.writeAtomically(out, text: rows.joined(separator: "\n") + "\n") }
    }
}

/// The run time a stage's provenance.json records, for the stage folder holding `file`.
func stageSeconds(besides file: String) -> Double? {
    let prov = (file as NSString).deletingLastPathComponent + "/provenance.json"
    guard let data = FileManager.default.contents(atPath: prov),
          let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
    return obj["seconds"] as? Double
}
