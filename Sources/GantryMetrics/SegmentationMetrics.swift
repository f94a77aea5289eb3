import Foundation
import GantryCore

/// Overlap and distance between a predicted and a reference binary mask on the same grid.
///
/// Empty-mask rule (BraTS convention, stated in every report): when both masks are empty Dice is 1
/// and HD95 is 0; when exactly one is empty Dice is 0 and HD95 is undefined (`nil`: reported as
/// null and left out of means, with the count of such cases). Raw TP/FP/FN counts are kept so
/// others can recompute any overlap metric.
public struct OverlapMetrics: Codable, Equatable, Sendable {
    public var tp: Int
    public var fp: Int
    public var fn: Int
    public var dice: Double
    /// 95th-percentile symmetric Hausdorff distance in mm (max of the two directed 95th percentiles of
    /// surface-to-surface distances, as MONAI's `compute_hausdorff_distance(percentile=95)`).
    public var hd95: Double?
    public var volumePredML: Double
    public var volumeRefML: Double

    enum CodingKeys: String, CodingKey {
        case tp = "TP", fp = "FP", fn = "FN", dice, hd95, volumePredML = "volume_pred_ml", volumeRefML = "volume_ref_ml"
    }
}

public enum SegmentationMetrics {
    /// Metrics of masks `pred` and `ref` (true = inside) on a grid of `shape` with the volume's affine.
    public static func compare(pred: [Bool], ref: [Bool], shape: [Int], affine: Affine, withHD95: Bool = true) throws -> OverlapMetrics {
        guard pred.count == ref.count, pred.count == shape.prefix(3).reduce(1, *) else {
            throw GantryError.invalidArgument("prediction and reference masks differ in size")
        }
        var tp = 0, fp = 0, fn = 0
        for i in 0..<pred.count {
            if pred[i] { if ref[i] { tp += 1 } else { fp += 1 } } else if ref[i] { fn += 1 }
        }
        let sp = affine.columnNorms
        let voxelML = abs(determinant3(affine)) / 1000
        let dice: Double = (tp + fp + fn) == 0 ? 1 : 2 * Double(tp) / Double(2 * tp + fp + fn)
        var hd: Double? = nil
        let predEmpty = tp + fp == 0, refEmpty = tp + fn == 0
        if predEmpty && refEmpty { hd = 0 }
        else if !predEmpty && !refEmpty && withHD95 { hd = hd95(pred, ref, shape: Array(shape.prefix(3)), spacing: sp) }
        return OverlapMetrics(tp: tp, fp: fp, fn: fn, dice: dice, hd95: hd,
                              volumePredML: Double(tp + fp) * voxelML, volumeRefML: Double(tp + fn) * voxelML)
    }

    /// Metrics for each label in `labels` and each named region (a set of labels), from label maps.
    public static func compare(pred: Volume, ref: Volume, labels: [Int], regions: [(String, [Int])] = []) throws -> [(String, OverlapMetrics)] {
        guard pred.spatialShape == ref.spatialShape else {
            throw GantryError.invalidArgument("prediction grid \(pred.spatialShape) differs from reference \(ref.spatialShape)")
        }
        guard pred.affine.maxDifference(ref.affine) < 1e-3 else {
            throw GantryError.invalidArgument("prediction and reference have different affines (resample the prediction onto the reference grid first)")
        }
        let p = pred.data.map { Int($0.rounded()) }, r = ref.data.map { Int($0.rounded()) }
        let shape = ref.spatialShape
        // Every label's bounding box (in either map), found in one pass: each target is then scored
        // on the box of its labels, one voxel wider, which holds every voxel of both masks and their
        // surfaces, so counts, Dice and HD95 are those of the whole grid, at the cost of the boxes
        // rather than of the grid per label (what matters with atlases of a hundred labels).
        var boxes: [Int: Box] = [:]
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            let o = i + shape[0] * (j + shape[1] * k)
            boxes[p[o], default: Box()].include(i, j, k)
            if r[o] != p[o] { boxes[r[o], default: Box()].include(i, j, k) }
        } } }
        let targets: [(String, Set<Int>)] = labels.map { ("\($0)", [$0]) } + regions.map { ($0.0, Set($0.1)) }
        var results = [Result<OverlapMetrics, Error>?](repeating: nil, count: targets.count)
        let sp = ref.affine
        results.withUnsafeMutableBufferPointer { out in
            let slots = out.baseAddress!  // each target writes its own slot
            Parallel.forEach(targets.count) { t in
                let set = targets[t].1
                var box = Box()
                for l in set { if let b = boxes[l] { box.merge(b) } }
                slots[t] = Result {
                    guard !box.isEmpty else { return try compare(pred: [false], ref: [false], shape: [1, 1, 1], affine: sp) }
                    let lo = (0..<3).map { max(0, box.low($0) - 1) }, hi = (0..<3).map { min(shape[$0] - 1, box.high($0) + 1) }
                    let sub = (0..<3).map { hi[$0] - lo[$0] + 1 }
                    var a = [Bool](repeating: false, count: sub[0] * sub[1] * sub[2]), b = a
                    for k in 0..<sub[2] { for j in 0..<sub[1] { for i in 0..<sub[0] {
                        let o = (lo[0] + i) + shape[0] * ((lo[1] + j) + shape[1] * (lo[2] + k)), q = i + sub[0] * (j + sub[1] * k)
                        a[q] = set.contains(p[o]); b[q] = set.contains(r[o])
                    } } }
                    return try compare(pred: a, ref: b, shape: sub, affine: sp)
                }
            }
        }
        return try zip(targets, results).map { ($0.0, try $1!.get()) }
    }

    /// An axis-aligned voxel box, empty until a voxel is included.
    struct Box {
        var i0 = Int.max, j0 = Int.max, k0 = Int.max, i1 = Int.min, j1 = Int.min, k1 = Int.min
        var isEmpty: Bool { i0 > i1 }
        func low(_ axis: Int) -> Int { [i0, j0, k0][axis] }
        func high(_ axis: Int) -> Int { [i1, j1, k1][axis] }
        mutating func include(_ i: Int, _ j: Int, _ k: Int) {
            i0 = min(i0, i); j0 = min(j0, j); k0 = min(k0, k)
            i1 = max(i1, i); j1 = max(j1, j); k1 = max(k1, k)
        }
        mutating func merge(_ b: Box) {
            i0 = min(i0, b.i0); j0 = min(j0, b.j0); k0 = min(k0, b.k0)
            i1 = max(i1, b.i1); j1 = max(j1, b.j1); k1 = max(k1, b.k1)
        }
    }

    /// Surface voxels: inside voxels with a 6-neighbour outside (or on the grid border).
    static func surface(_ m: [Bool], _ s: [Int]) -> [Bool] {
        var out = [Bool](repeating: false, count: m.count)
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let o = i + s[0] * (j + s[1] * k)
            guard m[o] else { continue }
            if i == 0 || j == 0 || k == 0 || i == s[0] - 1 || j == s[1] - 1 || k == s[2] - 1 ||
                !m[o - 1] || !m[o + 1] || !m[o - s[0]] || !m[o + s[0]] || !m[o - s[0] * s[1]] || !m[o + s[0] * s[1]] {
                out[o] = true
            }
        } } }
        return out
    }

    static func hd95(_ a: [Bool], _ b: [Bool], shape: [Int], spacing: [Double]) -> Double {
        let sa = surface(a, shape), sb = surface(b, shape)
        let da = DistanceTransform.euclidean(sa, shape: shape, spacing: spacing)
        let db = DistanceTransform.euclidean(sb, shape: shape, spacing: spacing)
        var ab = [Double](), ba = [Double]()
        for i in 0..<a.count {
            if sa[i] { ab.append(db[i]) }
            if sb[i] { ba.append(da[i]) }
        }
        return max(percentile(ab, 95), percentile(ba, 95))
    }

    /// Linear-interpolated percentile (NumPy's default), as MONAI computes it.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let v = values.sorted()
        let pos = q / 100 * Double(v.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - Double(lo))
    }

    static func determinant3(_ a: Affine) -> Double {
        a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]) - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0]) + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0])
    }
}

/// BraTS evaluation regions over labels 1 necrotic core, 2 oedema, 3 enhancing.
/// The BraTS label conventions: necrotic core 1 and oedema 2 in both; enhancing tumour 4 in the
/// challenges up to 2021, 3 from 2023 on (and in Gantry's phantoms and shipped models).
public enum BraTSConvention: String, CaseIterable, Sendable {
    case brats2021, brats2023

    public var enhancing: Int { self == .brats2021 ? 4 : 3 }

    /// Label values and the BraTS names: necrotic core, oedema, enhancing tumour.
    public var names: [(Int, String)] { [(1, "NCR"), (2, "ED"), (enhancing, "ET")] }

    /// A label map from Gantry's networks, which label as BraTS 2023 does, in this convention.
    public func fromGantryLabels(_ mask: Volume) throws -> Volume {
        guard self == .brats2021 else { return mask }
        return try mask.with(data: mask.data.map { $0 == 3 ? 4 : $0 })
    }

    /// WT (1, 2, ET), TC (1, ET), ET.
    public var regions: [(String, [Int])] { [("WT", [1, 2, enhancing]), ("TC", [1, enhancing]), ("ET", [enhancing])] }

    /// A warning when `labels` (found in a reference) hold a tumour label this convention does not
    /// know — the enhancing label of the other convention, which would silently score ET = 0.
    public func mismatch(in labels: Set<Int>) -> String? {
        let other: BraTSConvention = self == .brats2021 ? .brats2023 : .brats2021
        guard labels.contains(other.enhancing), !labels.contains(enhancing) else { return nil }
        return "the reference has label \(other.enhancing) and no \(enhancing): it looks like \(other.rawValue) labels, scored as \(rawValue) (ET = label \(enhancing)); pass --label-convention \(other.rawValue)"
    }
}

public enum BraTSRegions {
    /// Gantry's own convention (BraTS 2023: enhancing tumour = 3).
    public static let all: [(String, [Int])] = BraTSConvention.brats2023.regions
}
