import Foundation
import GantryCore
import GantryIO
import GantryMetrics

/// What a registration did and how well: `registration.json` (results only: the same inputs give
/// the same bytes), the command's summary line and its `--json`, the pipeline's report.
public struct RegistrationReport: Codable, Sendable, Equatable {
    public struct LabelDice: Codable, Sendable, Equatable {
        public var label: Int
        public var before: Double
        public var after: Double
    }

    public var type: String
    public var metric: String
    public var deformableMetric: String?
    /// The affine (RAS, world to world), row by row.
    public var affineRAS: [[Double]]
    public var jacobianMin: Double?
    public var jacobianNonpositiveFraction: Double?
    public var inverseConsistencyMM: Double?
    /// Per label of the fixed label map, with `--fixed-labels`: before = by world position alone.
    public var dice: [LabelDice]?
    public var meanDiceBefore: Double?
    public var meanDiceAfter: Double?
    /// The registration's own time (not written to registration.json).
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case type, metric, dice, seconds
        case deformableMetric = "deformable_metric", affineRAS = "affine_ras", jacobianMin = "jacobian_min"
        case jacobianNonpositiveFraction = "jacobian_nonpositive_fraction", inverseConsistencyMM = "inverse_consistency_mm"
        case meanDiceBefore = "mean_dice_before", meanDiceAfter = "mean_dice_after"
    }

    /// Reads a `registration.json`.
    public static func read(_ path: String) throws -> RegistrationReport {
        try FileIO.readJSON(RegistrationReport.self, from: path, what: "a registration.json")
    }

    /// The figures that must be finite for the result to mean anything.
    var figures: [(String, Double?)] {
        [("jacobian_min", jacobianMin), ("jacobian_nonpositive_fraction", jacobianNonpositiveFraction), ("inverse_consistency_mm", inverseConsistencyMM),
         ("mean_dice_before", meanDiceBefore), ("mean_dice_after", meanDiceAfter)]
    }
}

/// Runs a registration and writes its outputs into a folder: `warped.nii.gz` (moving on the fixed
/// grid), `warped_labels.nii.gz`, `affine.txt` (ITK/ANTs text, LPS), `field.nii.gz` (displacement
/// [x, y, z, 3] in mm, RAS, on the fixed grid reoriented to RAS), `inverse_field.nii.gz` (the exact
/// inverse, exp(−v)) and `registration.json` (Dice per label before/after when both label maps are
/// given, Jacobian summary, inverse consistency, time).
public enum RegistrationJob {
    public static func run(fixed fixedPath: String, moving movingPath: String, movingLabels: String?, fixedLabels: String?,
                           type: RegistrationType, metric: Similarity, deformableMetric: DeformableSimilarity = .standard, out: String, extraLabels: [String] = [],
                           interpolation: Interpolation = .linear, fixedMask: String? = nil, movingMask: String? = nil,
                           progress: @escaping (String) -> Void = { _ in }) throws -> RegistrationReport {
        let fixed = try Registration.checkedInput(try VolumeFile.read(fixedPath), source: fixedPath, progress: progress)
        let moving = try Registration.checkedInput(try VolumeFile.read(movingPath), source: movingPath, progress: progress)
        func mask(_ path: String?) throws -> Volume? {
            guard let path else { return nil }
            let v = try VolumeFile.read(path)
            guard v.data.contains(where: { $0 > 0 && $0.isFinite }) else { throw GantryError.invalidFile(path: path, problem: "the mask is empty (no voxel > 0)") }
            return v
        }
        let masks = RegistrationMasks(fixed: try mask(fixedMask), moving: try mask(movingMask))
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
        let r = try Registration.run(fixed: fixed, moving: moving, type: type, metric: metric, deformableMetric: deformableMetric, masks: masks, progress: progress)
        // Every output appears together or not at all.
        return try FileIO.withAtomicFolder(out) { dir in
            try write(r, fixed: fixed, moving: moving, movingLabels: movingLabels, fixedLabels: fixedLabels, type: type, metric: metric,
                      deformableMetric: deformableMetric, out: dir, extraLabels: extraLabels, interpolation: interpolation)
        }
    }

    static func write(_ r: RegistrationResult, fixed: Volume, moving: Volume, movingLabels: String?, fixedLabels: String?,
                      type: RegistrationType, metric: Similarity, deformableMetric: DeformableSimilarity, out: String, extraLabels: [String],
                      interpolation: Interpolation) throws -> RegistrationReport {
        try NIfTI.write(try r.warp(moving, onto: fixed, interpolation: interpolation), to: out + "/warped.nii.gz", options: .init(datatype: .float32))
        try FileIO.writeAtomically(out + "/affine.txt", text: ITKTransformFile.text(r.affine))
        let field = NIfTIWriteOptions(datatype: .float32, intent: DisplacementField.intentVector)
        if let f = r.field { try NIfTI.write(try f.volume(), to: out + "/field.nii.gz", options: field) }
        if let f = r.inverseField { try NIfTI.write(try f.volume(), to: out + "/inverse_field.nii.gz", options: field) }
        var report = RegistrationReport(type: type.rawValue, metric: metric.rawValue, deformableMetric: type == .syn ? deformableMetric.rawValue : nil,
                                        affineRAS: (0..<4).map { i in (0..<4).map { r.affine[i, $0] } },
                                        jacobianMin: r.jacobian?.min, jacobianNonpositiveFraction: r.jacobian?.negativeFraction,
                                        inverseConsistencyMM: r.inverseConsistencyError)
        if let ml = movingLabels {
            let labels = try VolumeFile.read(ml)
            let warped = try r.warpLabels(labels, onto: fixed)
            try NIfTI.write(warped, to: out + "/warped_labels.nii.gz", options: .labels(warped))
            if let fl = fixedLabels {
                let ref = try VolumeFile.read(fl)
                let ids = Set(ref.data.map { Int($0.rounded()) }).filter { $0 != 0 }.sorted()
                // "before": the moving labels on the fixed grid by world position alone
                let before = try labels.resampled(toShape: fixed.spatialShape, affine: fixed.affine, interpolation: .nearest)
                var dice: [RegistrationReport.LabelDice] = []
                for l in ids {
                    let b = try SegmentationMetrics.compare(pred: before.data.map { Int($0.rounded()) == l }, ref: ref.data.map { Int($0.rounded()) == l }, shape: ref.spatialShape, affine: ref.affine, withHD95: false)
                    let a = try SegmentationMetrics.compare(pred: warped.data.map { Int($0.rounded()) == l }, ref: ref.data.map { Int($0.rounded()) == l }, shape: ref.spatialShape, affine: ref.affine, withHD95: false)
                    dice.append(.init(label: l, before: b.dice, after: a.dice))
                }
                report.dice = dice
                report.meanDiceBefore = dice.map(\.before).reduce(0, +) / Double(max(1, dice.count))
                report.meanDiceAfter = dice.map(\.after).reduce(0, +) / Double(max(1, dice.count))
            }
        }
        // Further label maps ride along: warped_labels_2.nii.gz, warped_labels_3.nii.gz, …
        for (i, path) in extraLabels.enumerated() {
            let w = try r.warpLabels(try VolumeFile.read(path), onto: fixed)
            try NIfTI.write(w, to: out + "/warped_labels_\(i + 2).nii.gz", options: .labels(w))
        }
        for (key, value) in report.figures {
            if let d = value, !d.isFinite { throw GantryError.invalidArgument("registration failed: \(key) is \(d); nothing written") }
        }
        if !r.affine.m.allSatisfy({ $0.isFinite }) || r.affine.inverse == nil { throw GantryError.invalidArgument("registration failed: the affine transform is singular or not finite; nothing written") }
        // The file holds results only (the same inputs give the same bytes); the time is returned.
        try FileIO.writeAtomically(out + "/registration.json", bytes: try FileIO.jsonBytes(encoding: report))
        report.seconds = r.seconds
        return report
    }

    /// A transform saved by `run` or by ANTs/ITK: the affine as ITK text (`affine.txt`) or ANTs'
    /// `*GenericAffine.mat` (identity when nil), optional forward and inverse displacement fields
    /// (Gantry's `field.nii.gz`, ANTs' `*Warp.nii.gz` / `*InverseWarp.nii.gz`).
    public static func loadTransform(affine: String?, field: String?, inverseField: String?) throws -> RegistrationResult {
        let a = try affine.map { try ITKTransformFile.read($0) } ?? .identity
        func read(_ path: String?) throws -> DisplacementField? {
            guard let path else { return nil }
            do { return try DisplacementField(volume: try VolumeFile.read(path)) } catch let GantryError.invalidArgument(problem) {
                throw GantryError.invalidFile(path: path, problem: problem)
            }
        }
        return RegistrationResult(affine: a, field: try read(field), inverseField: try read(inverseField), seconds: 0)
    }
}
