import Foundation
import GantryCore
import GantryIO
import GantryMetrics

/// `report.dice`: the study's metrics as `dice.csv` (one row per subject × label/region) and an
/// nnU-Net-shaped `summary.json` (`metric_per_case` with raw TP/FP/FN, then `mean`, `std`, `median`
/// per label and `foreground_mean`), stating the empty-mask rule.
public enum DiceReportStage: StageKind {
    public static let name = "report.dice"
    public static let summary = "dice.csv and summary.json over all subjects."
    public static let scope = StageScope.group
    public static let requiredInputs = ["metrics"]
    public static let outputs = ["csv": "dice.csv", "summary": "summary.json"]
    public static let parameters = [ParameterSpec("prefix", .string, default: .string(""), help: "prefix for the report file names")]

    public static let emptyRule = "Dice = 1 and HD95 = 0 when prediction and reference are both empty; Dice = 0 and HD95 = null (left out of means) when exactly one is empty."

    public static func load(_ files: [SubjectFile]) throws -> [SubjectMetrics] {
        try files.map { try FileIO.readJSON(SubjectMetrics.self, from: $0.path, what: "a metrics file") }
    }

    /// Mean, standard deviation (population) and median of the finite values; nil when there are none.
    public static func stats(_ values: [Double?]) -> (mean: Double, std: Double, median: Double, n: Int)? {
        let v = values.compactMap { $0 }.filter { $0.isFinite }
        guard !v.isEmpty else { return nil }
        let mean = v.reduce(0, +) / Double(v.count)
        let std = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
        return (mean, std, SegmentationMetrics.percentile(v, 50), v.count)
    }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let cases = try load(inputs.files["metrics"] ?? [])
        var csv = ["subject,label,name,dice,hd95_mm,volume_pred_ml,volume_ref_ml,tp,fp,fn"]
        func f(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        for c in cases {
            for (i, m) in c.metrics.enumerated() {
                csv.append([c.subject, c.labels[i], c.names[i], f(m.dice), f(m.hd95), f(m.volumePredML), f(m.volumeRefML), "\(m.tp)", "\(m.fp)", "\(m.fn)"].joined(separator: ","))
            }
        }
        // summary.json, as nnU-Net's (plus HD95 and volumes).
        let labels = cases.first?.labels ?? []
        func block(_ which: @escaping (Double, Double, Double, Int) -> Double) -> [String: Any] {
            var out: [String: Any] = [:]
            for (i, l) in labels.enumerated() {
                var entry: [String: Any] = [:]
                for (name, pick) in [("Dice", { (m: OverlapMetrics) -> Double? in m.dice }), ("HD95", { $0.hd95 }),
                                     ("volume_pred_ml", { $0.volumePredML }), ("volume_ref_ml", { $0.volumeRefML })] as [(String, (OverlapMetrics) -> Double?)] {
                    let values = cases.map { $0.metrics.indices.contains(i) ? pick($0.metrics[i]) : nil }
                    entry[name] = stats(values).map { which($0.mean, $0.std, $0.median, $0.n) } ?? NSNull()
                }
                entry["n_cases_hd95"] = cases.filter { $0.metrics.indices.contains(i) && $0.metrics[i].hd95 != nil }.count
                out[l] = entry
            }
            return out
        }
        let perCase: [[String: Any]] = cases.map { c in
            var m: [String: Any] = [:]
            for (i, l) in c.labels.enumerated() {
                let x = c.metrics[i]
                let iou = (x.tp + x.fp + x.fn) == 0 ? 1 : Double(x.tp) / Double(x.tp + x.fp + x.fn)
                m[l] = ["Dice": x.dice, "IoU": iou, "TP": x.tp, "FP": x.fp, "FN": x.fn, "n_pred": x.tp + x.fp, "n_ref": x.tp + x.fn,
                        "HD95": x.hd95 ?? NSNull(), "volume_pred_ml": x.volumePredML, "volume_ref_ml": x.volumeRefML, "name": c.names[i]] as [String: Any]
            }
            return ["subject": c.subject, "prediction_file": c.predictionFile, "reference_file": c.referenceFile, "metrics": m]
        }
        let means = labels.indices.compactMap { i in stats(cases.map { $0.metrics.indices.contains(i) ? $0.metrics[i].dice : nil })?.mean }
        let summary: [String: Any] = [
            "metric_per_case": perCase,
            "mean": block { m, _, _, _ in m },
            "std": block { _, s, _, _ in s },
            "median": block { _, _, med, _ in med },
            "foreground_mean": ["Dice": means.isEmpty ? NSNull() : means.reduce(0, +) / Double(means.count) as Any],
            "empty_mask_rule": emptyRule,
            "n_cases": cases.count,
        ]
        if let p = outputs["csv"] { try FileIO.writeAtomically(p, text: csv.joined(separator: "\n") + "\n") }
        if let p = outputs["summary"] {
            try FileIO.writeJSON(p, summary)
        }
    }
}
