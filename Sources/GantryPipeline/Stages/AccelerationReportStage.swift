import Foundation
import GantryCore
import GantryIO
import GantryRecon

/// What acceleration does to the masks, as one table: a row per subject × method × acceleration,
/// with image quality per contrast and tumour-region Dice against the reference labels and against
/// the segmentation of the fully sampled images. Rows are found from the sweep values `method` and
/// `acceleration` of the stages that wrote the inputs (a `matrix:` stage), the contrast from the
/// sweep value `contrast` or the recon file's acquisition.
public struct AccelerationTable: Sendable {
    public struct Row: Sendable {
        public var subject: String
        public var method: String
        public var acceleration: String
        /// contrast → (PSNR dB, SSIM)
        public var quality: [String: (psnr: Double?, ssim: Double?)] = [:]
        /// region (WT/TC/ET or label) → Dice against the reference labels
        public var dice: [String: Double?] = [:]
        /// region → Dice against the segmentation of the fully sampled images
        public var agreement: [String: Double?] = [:]
        /// Some of the row's stages did not finish (their subject failed there).
        public var failed = false
    }

    public var rows: [Row]
    public var contrasts: [String]
    public var regions: [String]

    /// The table from per-subject Dice files (`metrics.dice` outputs), agreement files (the same,
    /// against the fully sampled segmentation) and recon metrics files.
    /// `missing`: files of those inputs that failed subjects did not write; their rows are marked failed.
    public static func make(dice: [SubjectFile], agreement: [SubjectFile], recon: [SubjectFile], missing: [SubjectFile] = []) throws -> AccelerationTable {
        var rows: [Row] = [], index: [String: Int] = [:]
        var contrasts: [String] = [], regions: [String] = []
        func key(_ f: SubjectFile) throws -> (String, String) {
            guard let m = f.value("method"), let a = f.value("acceleration") else {
                throw GantryError.invalidArgument("\(f.stage ?? f.path) has no sweep values 'method' and 'acceleration' (report.acceleration reads the outputs of matrix stages)")
            }
            return (m, a)
        }
        func row(_ f: SubjectFile) throws -> Int {
            let (m, a) = try key(f)
            let k = "\(f.subject)\t\(m)\t\(a)"
            if let i = index[k] { return i }
            rows.append(Row(subject: f.subject, method: m, acceleration: a))
            index[k] = rows.count - 1
            return rows.count - 1
        }
        for (files, isAgreement) in [(dice, false), (agreement, true)] {
            for (f, metrics) in zip(files, try DiceReportStage.load(files)) {
                let i = try row(f)
                for (label, m) in zip(metrics.labels, metrics.metrics) {
                    if !regions.contains(label) { regions.append(label) }
                    if isAgreement { rows[i].agreement[label] = m.dice } else { rows[i].dice[label] = m.dice }
                }
            }
        }
        for f in recon {
            let m = try ReconReport.read(f.path)
            let i = try row(f)
            let contrast = f.value("contrast") ?? m.acquisition ?? "image"
            if !contrasts.contains(contrast) { contrasts.append(contrast) }
            rows[i].quality[contrast] = (m.psnr, m.ssim)
        }
        for f in missing { rows[try row(f)].failed = true }
        // Subjects, then methods in the order met, then accelerations by value.
        let methodOrder = rows.map(\.method).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        rows.sort { a, b in
            if a.subject != b.subject { return a.subject < b.subject }
            if a.method != b.method { return methodOrder.firstIndex(of: a.method)! < methodOrder.firstIndex(of: b.method)! }
            return (Double(a.acceleration) ?? 0) < (Double(b.acceleration) ?? 0)
        }
        // Labels as the Dice files name them; the BraTS regions first when present.
        let named = ["WT", "TC", "ET"].filter(regions.contains)
        return AccelerationTable(rows: rows, contrasts: contrasts, regions: named.isEmpty ? regions : named)
    }

    public var csv: String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        var header = ["subject", "method", "acceleration"]
        for c in contrasts { header += ["psnr_db_\(c)", "ssim_\(c)"] }
        header += regions.map { "dice_\($0)" } + regions.map { "dice_vs_full_\($0)" } + ["status"]
        var lines = [header.joined(separator: ",")]
        for r in rows {
            var cells = [r.subject, r.method, r.acceleration]
            for c in contrasts { cells += [f(r.quality[c]?.psnr ?? nil), f(r.quality[c]?.ssim ?? nil)] }
            cells += regions.map { f(r.dice[$0] ?? nil) } + regions.map { f(r.agreement[$0] ?? nil) } + [r.failed ? "failed" : "ok"]
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean over subjects of `value` per method and acceleration (nil values left out).
    public func means(_ value: (Row) -> Double?) -> [(method: String, points: [(acceleration: Double, mean: Double)])] {
        var order: [String] = []
        var sums: [String: [Double: (Double, Int)]] = [:]
        for r in rows {
            if !order.contains(r.method) { order.append(r.method) }
            guard let v = value(r), v.isFinite, let a = Double(r.acceleration) else { continue }
            let s = sums[r.method, default: [:]][a] ?? (0, 0)
            sums[r.method, default: [:]][a] = (s.0 + v, s.1 + 1)
        }
        return order.map { m in (m, (sums[m] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value.0 / Double($0.value.1)) }) }
    }
}

/// `report.acceleration`: acceleration.csv (subject, method, acceleration, PSNR/SSIM per contrast,
/// Dice per tumour region against the reference and against the fully sampled segmentation, and a
/// status). It runs even when subjects failed: a combination whose stages did not finish is a row
/// marked `failed`, the others are reported (the run still fails, naming the subjects).
public enum AccelerationReportStage: StageKind {
    public static let name = "report.acceleration"
    public static let summary = "acceleration.csv: image quality and Dice per subject, method and acceleration."
    public static let scope = StageScope.group
    public static let requiredInputs = ["dice"]
    public static let optionalInputs = ["agreement", "recon"]
    public static let outputs = ["csv": "acceleration.csv"]
    public static let parameters = [ParameterSpec("prefix", .string, default: .string(""), help: "prefix for the report file name")]
    public static let reportsFailures = true

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let table = try AccelerationTable.make(dice: inputs.files["dice"] ?? [], agreement: inputs.files["agreement"] ?? [], recon: inputs.files["recon"] ?? [],
                                               missing: inputs.missing.values.flatMap { $0 })
        if let out = outputs["csv"] { try FileIO.writeAtomically(out, text: table.csv) }
    }
}
