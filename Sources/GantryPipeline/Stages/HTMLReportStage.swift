import Foundation
import GantryCore
import GantryIO
import GantryRecon
import GantryRegistration

/// `report.html`: one self-contained page (pictures and plots embedded) for every result a pipeline
/// made: a section per Dice set (summary with an SVG bar plot of mean Dice per label, per-subject
/// table), reconstruction quality per method, registration Dice before/after, overlay pictures with
/// their colour legend, orientation letters and slice, the reference beside the prediction when the
/// snapshot has one, and the stage timings folded away.
public enum HTMLReportStage: StageKind {
    public static let name = "report.html"
    public static let summary = "Self-contained HTML report: Dice, recon and registration tables, plots, overlays, timings."
    public static let scope = StageScope.group
    public static let requiredInputs = ["metrics"]
    public static let optionalInputs = ["metrics2", "metrics3", "recon", "recon2", "recon3", "registration"] + ["pictures"] + (2...6).map { "pictures\($0)" }
        + ["acceleration_dice", "acceleration_agreement", "acceleration_recon"]
    public static let outputs = ["html": "report.html"]
    public static let parameters = [
        ParameterSpec("title", .string, default: .string("Gantry report"), help: "page title"),
        ParameterSpec("prefix", .string, default: .string(""), help: "prefix for the report file name"),
    ]

    /// The page shows every stage's warnings: a stage re-run with new warnings (a new model, say)
    /// but the same outputs must bring the report up to date.
    public static func runState(root: String) -> String? { warnings(root: root) }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func f(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "—" }

    /// The stage that wrote a per-subject file (as resolved, else the folder it sits in).
    static func stage(of file: SubjectFile) -> String { file.stage ?? ((file.path as NSString).deletingLastPathComponent as NSString).lastPathComponent }

    public static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws {
        let title = esc(parameters["title"]?.stringValue ?? "Gantry report")
        let dice = try ["metrics", "metrics2", "metrics3"].compactMap { key -> (String, [SubjectMetrics])? in
            guard let files = inputs.files[key], let first = files.first else { return nil }
            return (stage(of: first), try DiceReportStage.load(files))
        }
        let subjects = Set(dice.flatMap { $0.1.map(\.subject) }).count
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>\(title)</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;padding:0 1em;color:#222;max-width:1200px}
        h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
        table{border-collapse:collapse;margin:.5em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.2em .55em;text-align:right}
        th{background:#f3f3f3}td.l,th.l{text-align:left}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
        .pics{display:flex;flex-wrap:wrap;gap:1.2em}figure{margin:0;font-size:.82em}
        .frame{display:inline-grid;grid-template-columns:1.2em auto 1.2em;grid-template-rows:1.2em auto 1.2em;align-items:center;justify-items:center;color:#555;font-weight:600}
        img{image-rendering:pixelated;border:1px solid #ccc;max-width:100%}.note{color:#666;font-size:.85em}
        .sw{display:inline-block;width:.9em;height:.9em;border:1px solid #888;vertical-align:-.1em;margin:0 .25em 0 .6em}
        details{margin-top:1.5em}summary{cursor:pointer;font-weight:600}svg text{font-size:11px;fill:#333}
        </style></head><body>
        <h1>\(title)</h1>
        <p class="note">Gantry \(GantryVersion.string) · \(subjects) subject(s) · empty-mask rule: \(esc(DiceReportStage.emptyRule))</p>

        """
        h += warnings(root: context.outputRoot)
        if let sweep = inputs.files["acceleration_dice"], !sweep.isEmpty {
            h += accelerationSection(try AccelerationTable.make(dice: sweep, agreement: inputs.files["acceleration_agreement"] ?? [],
                                                                recon: inputs.files["acceleration_recon"] ?? []))
        }
        for (stageID, cases) in dice { h += diceSection(stageID, cases) }
        h += try reconSection(["recon", "recon2", "recon3"].flatMap { inputs.files[$0] ?? [] })
        h += try registrationSection(inputs.files["registration"] ?? [])
        h += try picturesSection((["pictures"] + (2...6).map { "pictures\($0)" }).flatMap { inputs.files[$0] ?? [] })
        h += timings(root: context.outputRoot)
        h += "</body></html>\n"
        guard let out = outputs["html"] else { return }
        try FileIO.writeAtomically(out, text: h)
    }

    static func diceSection(_ stageID: String, _ cases: [SubjectMetrics]) -> String {
        let labels = cases.first?.labels ?? [], names = cases.first?.names ?? []
        var rows: [(String, (mean: Double, std: Double, median: Double, n: Int)?)] = []
        var h = "<h2>Dice: \(esc(stageID))</h2>\n<div class=\"row\"><table><tr><th class=\"l\">label</th><th>Dice mean ± std</th><th>median</th><th>HD95 mean (mm)</th><th>median</th><th>n</th></tr>\n"
        for (i, l) in labels.enumerated() {
            let d = DiceReportStage.stats(cases.map { $0.metrics.indices.contains(i) ? $0.metrics[i].dice : nil })
            let hd = DiceReportStage.stats(cases.map { $0.metrics.indices.contains(i) ? $0.metrics[i].hd95 : nil })
            let label = names.indices.contains(i) && names[i] != l ? "\(l) (\(names[i]))" : l
            rows.append((names.indices.contains(i) ? names[i] : l, d))
            h += "<tr><td class=\"l\">\(esc(label))</td><td>\(f(d?.mean)) ± \(f(d?.std))</td><td>\(f(d?.median))</td><td>\(f(hd?.mean, 2))</td><td>\(f(hd?.median, 2))</td><td>\(d?.n ?? 0)</td></tr>\n"
        }
        h += "</table>\n" + barPlot(rows) + "</div>\n"
        h += "<details><summary>Per subject (\(cases.count))</summary>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">label</th><th>Dice</th><th>HD95 (mm)</th><th>volume pred (mL)</th><th>volume ref (mL)</th><th>TP</th><th>FP</th><th>FN</th></tr>\n"
        for c in cases {
            for (i, m) in c.metrics.enumerated() {
                h += "<tr><td class=\"l\">\(esc(c.subject))</td><td class=\"l\">\(esc(c.names.indices.contains(i) ? c.names[i] : ""))</td><td>\(f(m.dice))</td><td>\(f(m.hd95, 2))</td><td>\(f(m.volumePredML, 2))</td><td>\(f(m.volumeRefML, 2))</td><td>\(m.tp)</td><td>\(m.fp)</td><td>\(m.fn)</td></tr>\n"
            }
        }
        return h + "</table></details>\n"
    }

    /// Mean Dice per label as horizontal bars with ±1 std whiskers, 0…1 axis (inline SVG).
    static func barPlot(_ rows: [(String, (mean: Double, std: Double, median: Double, n: Int)?)]) -> String {
        let left = 110.0, width = 300.0, bar = 16.0, gap = 6.0
        let height = Double(rows.count) * (bar + gap) + 30
        var s = "<svg role=\"img\" aria-label=\"mean Dice per label\" width=\"\(Int(left + width + 20))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            let x = left + t * width
            s += "<line x1=\"\(x)\" y1=\"0\" x2=\"\(x)\" y2=\"\(height - 18)\" stroke=\"#ddd\"/><text x=\"\(x)\" y=\"\(height - 5)\" text-anchor=\"middle\">\(String(format: "%.2f", t))</text>\n"
        }
        for (i, (name, d)) in rows.enumerated() {
            let y = Double(i) * (bar + gap) + 4
            s += "<text x=\"\(left - 6)\" y=\"\(y + bar - 4)\" text-anchor=\"end\">\(esc(name))</text>\n"
            guard let d else { continue }
            let w = max(0, min(1, d.mean)) * width
            s += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(w)\" height=\"\(bar)\" fill=\"#4a7fc1\"><title>\(esc(name)): \(f(d.mean)) ± \(f(d.std))</title></rect>\n"
            let a = left + max(0, d.mean - d.std) * width, b = left + min(1, d.mean + d.std) * width
            s += "<line x1=\"\(a)\" y1=\"\(y + bar / 2)\" x2=\"\(b)\" y2=\"\(y + bar / 2)\" stroke=\"#222\"/>\n"
        }
        return s + "</svg>\n"
    }

    /// Dice and PSNR against acceleration, one line per method (means over subjects), the fully
    /// sampled chain as a dashed line, and the table.
    static func accelerationSection(_ t: AccelerationTable) -> String {
        let region = t.regions.first ?? ""
        let palette = ["#d9822b", "#3a9a5b", "#b8448c", "#4a7fc1", "#7a6bd1", "#8a8a8a"]
        var colours: [String: String] = [:]
        for r in t.rows where colours[r.method] == nil && (Double(r.acceleration) ?? 0) > 1 { colours[r.method] = palette[colours.count % palette.count] }
        // Series of the undersampled sets; a set at R ≤ 1 is the fully sampled reference.
        func split(_ value: (AccelerationTable.Row) -> Double?) -> ([(method: String, points: [(acceleration: Double, mean: Double)])], Double?) {
            let all = t.means(value)
            let full = all.flatMap { $0.points.filter { $0.acceleration <= 1 }.map(\.mean) }.first
            return (all.map { ($0.method, $0.points.filter { $0.acceleration > 1 }) }.filter { !$0.1.isEmpty }, full)
        }
        func range(_ series: [(method: String, points: [(acceleration: Double, mean: Double)])], _ full: Double?, step: Double, cap: Double?) -> (Double, Double) {
            let values = series.flatMap { $0.points.map(\.mean) } + (full.map { [$0] } ?? [])
            let lo = ((values.min() ?? 0) / step).rounded(.down) * step, hi = ((values.max() ?? 1) / step).rounded(.up) * step
            return (lo, min(cap ?? .infinity, max(hi, lo + step)))
        }
        var h = "<h2>Acceleration</h2>\n<p class=\"note\">Means over \(Set(t.rows.map(\.subject)).count) subject(s). "
            + "Dice of the segmentation of each set of reconstructions, against the reference labels and against the segmentation of the fully sampled set (dashed: the fully sampled chain); PSNR averaged over the contrasts.</p>\n<div class=\"row\">"
        let (dice, full) = split { $0.dice[region] ?? nil }
        h += linePlot(dice, title: "\(region) Dice vs reference", yRange: range(dice, full, step: 0.05, cap: 1), colours: colours, reference: full)
        let (agreement, _) = split { $0.agreement[region] ?? nil }
        if !agreement.isEmpty { h += linePlot(agreement, title: "\(region) Dice vs fully sampled", yRange: range(agreement, 1, step: 0.05, cap: 1), colours: colours, reference: nil) }
        let (psnr, _) = split { r in
            let v = t.contrasts.compactMap { r.quality[$0]?.psnr ?? nil }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        if !psnr.isEmpty { h += linePlot(psnr, title: "PSNR (dB)", yRange: range(psnr, nil, step: 2, cap: nil), colours: colours, reference: nil) }
        h += "</div>\n<details><summary>Per subject, method and acceleration (\(t.rows.count) rows)</summary>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">method</th><th>R</th>"
        h += t.contrasts.map { "<th>\(esc($0)) PSNR</th><th>SSIM</th>" }.joined() + t.regions.map { "<th>\(esc($0)) Dice</th>" }.joined()
        h += t.regions.map { "<th>\(esc($0)) vs full</th>" }.joined() + "</tr>\n"
        for r in t.rows {
            h += "<tr><td class=\"l\">\(esc(r.subject))</td><td class=\"l\">\(esc(r.method))</td><td>\(esc(r.acceleration))</td>"
            h += t.contrasts.map { "<td>\(f(r.quality[$0]?.psnr ?? nil, 2))</td><td>\(f(r.quality[$0]?.ssim ?? nil))</td>" }.joined()
            h += t.regions.map { "<td>\(f(r.dice[$0] ?? nil))</td>" }.joined() + t.regions.map { "<td>\(f(r.agreement[$0] ?? nil))</td>" }.joined() + "</tr>\n"
        }
        return h + "</table></details>\n"
    }

    /// Gridline values for an axis: multiples of the first of 1, 2, 2.5, 5 × 10ᵏ that puts at most
    /// five intervals in the range, and the decimals that print each exactly (quarters of an
    /// arbitrary range printed rounded would label 26.5 dB as "26").
    static func axisTicks(_ range: (Double, Double)) -> (values: [Double], digits: Int) {
        // an empty range (one value) is given a tenth of the value's size, so it still gets a label
        let span = range.1 - range.0 > 1e-9 ? range.1 - range.0 : 0.1 * max(abs(range.0), 1e-3)
        var decade = pow(10, (log10(span / 5)).rounded(.down)), step = decade
        for f in [1.0, 2, 2.5, 5, 10] where span / (f * decade) <= 5 + 1e-9 { step = f * decade; break }
        if span / step > 5 + 1e-9 { decade *= 10; step = decade }
        let first = (range.0 / step - 1e-9).rounded(.up), last = (range.1 / step + 1e-9).rounded(.down)
        let values = stride(from: first, through: last, by: 1).map { $0 * step + 0 }  // + 0: no "-0"
        let digits = max(0, Int((-log10(step) + (step / decade == 2.5 ? 1 : 0) - 1e-9).rounded(.up)))
        return (values, digits)
    }

    /// An SVG line plot: x = acceleration (evenly spaced by rank), a coloured line per method, and an
    /// optional dashed reference level (the fully sampled chain).
    static func linePlot(_ series: [(method: String, points: [(acceleration: Double, mean: Double)])], title: String, yRange: (Double, Double),
                         colours: [String: String], reference: Double?) -> String {
        let xs = Array(Set(series.flatMap { $0.points.map(\.acceleration) })).sorted()
        let (left, top, width, height) = (46.0, 22.0, 170.0, 150.0)
        func x(_ a: Double) -> Double { left + (xs.count > 1 ? Double(xs.firstIndex(of: a) ?? 0) / Double(xs.count - 1) : 0.5) * width }
        func y(_ v: Double) -> Double { top + height - (min(max(v, yRange.0), yRange.1) - yRange.0) / max(1e-9, yRange.1 - yRange.0) * height }
        var s = "<figure><svg role=\"img\" aria-label=\"\(esc(title)) against acceleration\" width=\"\(Int(left + width + 110))\" height=\"\(Int(top + height + 40))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        s += "<text x=\"\(left)\" y=\"14\" font-weight=\"600\">\(esc(title))</text>\n"
        let (ticks, digits) = axisTicks(yRange)
        for v in ticks {
            s += "<line x1=\"\(left)\" y1=\"\(y(v))\" x2=\"\(left + width)\" y2=\"\(y(v))\" stroke=\"#e3e3e3\"/><text x=\"\(left - 5)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.\(digits)f", v))</text>\n"
        }
        for a in xs {
            s += "<text x=\"\(x(a))\" y=\"\(top + height + 16)\" text-anchor=\"middle\">\(String(format: "%g", a))×</text>\n"
        }
        s += "<text x=\"\(left + width / 2)\" y=\"\(top + height + 34)\" text-anchor=\"middle\">acceleration</text>\n"
        var legend = 0
        if let reference {
            s += "<line x1=\"\(left)\" y1=\"\(y(reference))\" x2=\"\(left + width)\" y2=\"\(y(reference))\" stroke=\"#333\" stroke-dasharray=\"5 4\"><title>fully sampled: \(String(format: "%.3f", reference))</title></line>\n"
            s += "<line x1=\"\(left + width + 12)\" y1=\"\(top + 5)\" x2=\"\(left + width + 24)\" y2=\"\(top + 5)\" stroke=\"#333\" stroke-dasharray=\"3 2\"/><text x=\"\(left + width + 28)\" y=\"\(top + 9)\">fully sampled</text>\n"
            legend = 1
        }
        for line in series {
            let c = colours[line.method] ?? "#888"
            s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\" points=\"\(line.points.map { "\(x($0.acceleration)),\(y($0.mean))" }.joined(separator: " "))\"/>\n"
            for p in line.points {
                s += "<circle cx=\"\(x(p.acceleration))\" cy=\"\(y(p.mean))\" r=\"3\" fill=\"\(c)\"><title>\(esc(line.method)) \(String(format: "%g", p.acceleration))×: \(String(format: "%.3f", p.mean))</title></circle>\n"
            }
            s += "<rect x=\"\(left + width + 12)\" y=\"\(top + Double(legend) * 16)\" width=\"10\" height=\"10\" fill=\"\(c)\"/><text x=\"\(left + width + 28)\" y=\"\(top + Double(legend) * 16 + 9)\">\(esc(line.method))</text>\n"
            legend += 1
        }
        return s + "</svg></figure>\n"
    }

    /// NMSE, PSNR and SSIM per subject and method, from each recon stage's metrics.json.
    static func reconSection(_ files: [SubjectFile]) throws -> String {
        guard !files.isEmpty else { return "" }
        var h = "<h2>Reconstruction</h2>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">method</th><th>R</th><th>NMSE</th><th>PSNR (dB)</th><th>SSIM</th></tr>\n"
        for file in files.sorted(by: { ($0.subject, stage(of: $0)) < ($1.subject, stage(of: $1)) }) {
            let m = try ReconReport.read(file.path)
            h += "<tr><td class=\"l\">\(esc(file.subject))</td><td class=\"l\">\(esc(m.method))</td><td>\(f(m.acceleration, 1))</td><td>\(f(m.nmse, 4))</td><td>\(f(m.psnr, 2))</td><td>\(f(m.ssim))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    /// Mean label Dice before (world alignment only) and after registration, Jacobian minimum.
    static func registrationSection(_ files: [SubjectFile]) throws -> String {
        guard !files.isEmpty else { return "" }
        var h = "<h2>Registration</h2>\n<table><tr><th class=\"l\">subject</th><th class=\"l\">type</th><th>mean Dice before</th><th>after</th><th>min Jacobian</th></tr>\n"
        for file in files {
            let r = try RegistrationReport.read(file.path)
            h += "<tr><td class=\"l\">\(esc(file.subject))</td><td class=\"l\">\(esc(r.type))</td><td>\(f(r.meanDiceBefore))</td><td>\(f(r.meanDiceAfter))</td><td>\(f(r.jacobianMin))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    /// Each picture framed by its orientation letters, captioned with subject, stage, slice and the
    /// colour of every label it shows (from the snapshot.json beside it).
    static func picturesSection(_ pics: [SubjectFile]) throws -> String {
        guard !pics.isEmpty else { return "" }
        var h = "<h2>Overlays</h2>\n<div class=\"pics\">\n"
        for p in pics {
            let data = try FileIO.readAll(p.path)
            let infoPath = (p.path as NSString).deletingLastPathComponent + "/snapshot.json"
            let info = FileManager.default.contents(atPath: infoPath).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            let plane = Overlay.Plane(rawValue: info["plane"] as? String ?? "axial") ?? .axial
            let (l, r, t, b) = Overlay.orientation(plane)
            var caption = "\(esc(p.subject)) · \(esc(stage(of: p)))"
            if let slice = info["slice"] as? Int, let n = info["slices"] as? Int { caption += " · \(plane.rawValue) slice \(slice + 1)/\(n)" }
            if let panels = info["panels"] as? [String], panels.count > 1 || panels.first?.hasPrefix("checkerboard") == true { caption += " · " + panels.joined(separator: " | ") }
            var legend = ""
            for label in info["labels"] as? [[String: Any]] ?? [] {
                legend += "<span class=\"sw\" style=\"background:\(esc(label["colour"] as? String ?? "#000"))\"></span>\(esc(label["name"] as? String ?? ""))"
            }
            h += "<figure><div class=\"frame\"><span></span><span>\(t)</span><span></span><span>\(l)</span>"
            h += "<img alt=\"\(esc(p.subject)) \(esc(stage(of: p)))\" src=\"data:image/png;base64,\(Data(data).base64EncodedString())\">"
            h += "<span>\(r)</span><span></span><span>\(b)</span><span></span></div><figcaption>\(caption)<br>\(legend)</figcaption></figure>\n"
        }
        return h + "</div>\n"
    }

    /// Every unit's (subject's, BraTS case's) stage provenance.json under OUT/stages, in unit and stage order.
    static func provenances(root: String) -> [(subject: String, stage: String, record: [String: Any])] {
        let base = Executor.stages(root)
        let fm = FileManager.default
        var out: [(String, String, [String: Any])] = []
        for sub in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted() where !sub.hasPrefix(".") {
            for stage in ((try? fm.contentsOfDirectory(atPath: "\(base)/\(sub)")) ?? []).sorted() where !stage.hasPrefix(".") {
                guard let data = fm.contents(atPath: "\(base)/\(sub)/\(stage)/provenance.json"),
                      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                out.append((sub, stage, obj))
            }
        }
        return out
    }

    /// The stages' warnings (inputs unlike a model's training data, non-finite voxels, …) at the top
    /// of the report, where a reader sees them before the numbers they qualify.
    static func warnings(root: String) -> String {
        let rows = provenances(root: root).flatMap { p in ((p.record["warnings"] as? [String]) ?? []).map { (p.subject, p.stage, $0) } }
        guard !rows.isEmpty else { return "" }
        var h = "<h2>Warnings</h2>\n<table class=\"warnings\"><tr><th class=\"l\">subject</th><th class=\"l\">stage</th><th class=\"l\">warning</th></tr>\n"
        for r in rows { h += "<tr><td class=\"l\">\(esc(r.0))</td><td class=\"l\">\(esc(r.1))</td><td class=\"l\">\(esc(r.2))</td></tr>\n" }
        return h + "</table>\n"
    }

    /// Per-stage times from every provenance.json under OUT/stages.
    static func timings(root: String) -> String {
        let rows = provenances(root: root).map { ($0.subject, $0.stage, $0.record["kind"] as? String ?? "", $0.record["seconds"] as? Double ?? 0) }
        guard !rows.isEmpty else { return "" }
        let total = rows.reduce(0) { $0 + $1.3 }
        var h = "<details><summary>Stage timings (\(rows.count) stages, \(String(format: "%.1f", total)) s when each last ran)</summary>\n"
        h += "<table><tr><th class=\"l\">subject</th><th class=\"l\">stage</th><th class=\"l\">kind</th><th>seconds</th></tr>\n"
        for r in rows { h += "<tr><td class=\"l\">\(esc(r.0))</td><td class=\"l\">\(esc(r.1))</td><td class=\"l\">\(esc(r.2))</td><td>\(String(format: "%.2f", r.3))</td></tr>\n" }
        h += "</table></details>\n"
        return h
    }
}
