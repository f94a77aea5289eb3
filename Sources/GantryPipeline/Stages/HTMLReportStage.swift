import Foundation
import GantryCore
import GantryIO

/// `report.html`: one self-contained page (pictures embedded) with the summary per label/region
/// (mean ± std, median), the per-subject table, each subject's overlay picture and the per-stage
/// timings read from the run's provenance files.
public enum HTMLReportStage: StageKind {
    public static let name = "report.html"
    public static let summary = "Self-contained HTML report: tables, overlay pictures, stage timings."
    public static let scope = StageScope.group
    public static let requiredInputs = ["metrics"]
    public static let optionalInputs = ["pictures"]
    public static let outputs = ["html": "report.html"]
    public static let parameters = [
        ParameterSpec("title", .string, default: .string("Gantry report"), help: "page title"),
        ParameterSpec("prefix", .string, default: .string(""), help: "prefix for the report file name"),
    ]

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let cases = try DiceReportStage.load(inputs.files["metrics"] ?? [])
        let title = esc(parameters["title"]?.stringValue ?? "Gantry report")
        func f(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "—" }
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}
        h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
        th{background:#f3f3f3}td.l,th.l{text-align:left}.pics{display:flex;flex-wrap:wrap;gap:1em}
        figure{margin:0;text-align:center;font-size:.85em}img{image-rendering:pixelated;border:1px solid #ccc}.note{color:#666;font-size:.85em}
        </style></head><body>
        <h1>\(title)</h1>
        <p class="note">Gantry \(GantryVersion.string) · \(cases.count) subject(s) · empty-mask rule: \(esc(DiceReportStage.emptyRule))</p>
        <h2>Summary</h2>
        <table><tr><th class="l">label</th><th>Dice mean ± std</th><th>Dice median</th><th>HD95 mean (mm)</th><th>HD95 median (mm)</th><th>n</th></tr>

        """
        let labels = cases.first?.labels ?? []
        let names = cases.first?.names ?? []
        for (i, l) in labels.enumerated() {
            let d = DiceReportStage.stats(cases.map { $0.metrics.indices.contains(i) ? $0.metrics[i].dice : nil })
            let hd = DiceReportStage.stats(cases.map { $0.metrics.indices.contains(i) ? $0.metrics[i].hd95 : nil })
            let label = names.indices.contains(i) && names[i] != l ? "\(l) (\(names[i]))" : l
            h += "<tr><td class=\"l\">\(esc(label))</td><td>\(f(d?.mean)) ± \(f(d?.std))</td><td>\(f(d?.median))</td><td>\(f(hd?.mean, 2))</td><td>\(f(hd?.median, 2))</td><td>\(d?.n ?? 0)</td></tr>\n"
        }
        h += "</table>\n<h2>Per subject</h2>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">label</th><th>Dice</th><th>HD95 (mm)</th><th>volume pred (mL)</th><th>volume ref (mL)</th><th>TP</th><th>FP</th><th>FN</th></tr>\n"
        for c in cases {
            for (i, m) in c.metrics.enumerated() {
                h += "<tr><td class=\"l\">\(esc(c.subject))</td><td class=\"l\">\(esc(c.names[i]))</td><td>\(f(m.dice))</td><td>\(f(m.hd95, 2))</td><td>\(f(m.volumePredML, 2))</td><td>\(f(m.volumeRefML, 2))</td><td>\(m.tp)</td><td>\(m.fp)</td><td>\(m.fn)</td></tr>\n"
            }
        }
        h += "</table>\n"
        if let pics = inputs.files["pictures"], !pics.isEmpty {
            h += "<h2>Overlays</h2>\n<div class=\"pics\">\n"
            for p in pics {
                let data = try FileIO.readAll(p.path)
                h += "<figure><img alt=\"\(esc(p.subject))\" src=\"data:image/png;base64,\(Data(data).base64EncodedString())\"><figcaption>\(esc(p.subject))</figcaption></figure>\n"
            }
            h += "</div>\n<p class=\"note\">Axial slice with the most labelled voxels, neurological convention (subject's left on the left), anterior up.</p>\n"
        }
        h += timings(root: context.outputRoot)
        h += "</body></html>\n"
        guard let out = outputs["html"] else { return }
        try FileIO.writeAtomically(out, text: h)
    }

    /// Per-stage times from every provenance.json under OUT/stages.
    static func timings(root: String) -> String {
        let base = Executor.stages(root)
        let fm = FileManager.default
        var rows: [(String, String, String, Double)] = []
        for sub in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted() where sub.hasPrefix("sub-") {
            for stage in ((try? fm.contentsOfDirectory(atPath: "\(base)/\(sub)")) ?? []).sorted() where !stage.hasPrefix(".") {
                guard let data = fm.contents(atPath: "\(base)/\(sub)/\(stage)/provenance.json"),
                      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                rows.append((sub, stage, obj["kind"] as? String ?? "", obj["seconds"] as? Double ?? 0))
            }
        }
        guard !rows.isEmpty else { return "" }
        var h = "<h2>Stage timings</h2>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">stage</th><th class=\"l\">kind</th><th>seconds</th></tr>\n"
        for r in rows { h += "<tr><td class=\"l\">\(esc(r.0))</td><td class=\"l\">\(esc(r.1))</td><td class=\"l\">\(esc(r.2))</td><td>\(String(format: "%.2f", r.3))</td></tr>\n" }
        let total = rows.reduce(0) { $0 + $1.3 }
        h += "<tr><th class=\"l\" colspan=\"3\">total (when each stage last ran)</th><th>\(String(format: "%.2f", total))</th></tr></table>\n"
        return h
    }
}
