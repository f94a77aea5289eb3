import Foundation
import GantryCore
import GantryIO
import Yams

/// A pipeline file, decoded from YAML with the line of every element kept for error messages.
///
///     name: tissue-segmentation
///     description: …
///     inputs:                        # per-subject files, relative to the subject folder
///       t1w: anat/{subject}_T1w.nii.gz  # ("../sub-01/…" reaches another subject in the study)
///     stages:
///       - id: segment                # unique; outputs go to OUT/stages/<subject>/<id>/
///         uses: segment.tissue-kmeans
///         inputs: {image: inputs.t1w}        # inputs.<name> or <stage-id>.<output>
///         with: {classes: 3}
///       - id: recon-${contrast}-r${acceleration}   # a sweep: one stage per combination
///         uses: recon.cs-tv
///         matrix: {contrast: [T1w, FLAIR], acceleration: [2, 4]}
///         inputs: {kspace: inputs.kspace_${contrast}}
///         with: {acceleration: ${acceleration}}
///       - id: report
///         uses: report.recon
///         inputs: {metrics: "recon-*.metrics"}  # study stages take lists and wildcards
///     layout: brats                  # optional: case folders (BraTS2021_00000/…) instead of sub-*/
///     resources:                     # optional: what one subject needs on a cluster (flags override)
///       cpus_per_task: 2
///       mem: 8G
///       time: "01:00:00"
public struct PipelineSpec: Sendable {
    /// Per-subject resources for cluster executors; `nil` fields are left to the site's defaults.
    public struct Resources: Sendable, Equatable {
        public var partition: String?
        public var time: String?
        public var cpusPerTask: Int?
        public var mem: String?
        public var account: String?
        public init() {}
    }

    public struct Input: Sendable { public var name: String; public var pattern: String; public var line: Int }
    public struct Stage: Sendable {
        public var id: String
        public var uses: String
        /// Input name → references (`inputs.t1w`, `seg.mask`, `dice-*.metrics`); one for subject stages.
        public var inputs: [String: [String]]
        public var parameters: [String: ParameterValue]
        public var line: Int
        public var lines: [String: Int]  // per input/parameter key
        /// The sweep values this copy of a `matrix:` stage was made with, in the matrix's order.
        public var matrix: [MatrixValue] = []
    }

    /// One key of a stage's sweep and the value of this copy (as its text, e.g. `acceleration` = `4`).
    public struct MatrixValue: Sendable, Equatable {
        public var key: String
        public var value: String
        /// The value as part of a stage id (`0.5` → `0p5`: '.' separates a stage from its output).
        public var name: String { value.replacingOccurrences(of: ".", with: "p") }
    }

    public var path: String
    public var name: String
    public var description: String
    public var inputs: [Input]
    public var stages: [Stage]
    public var resources = Resources()
    public var layout = StudyLayout.bids

    /// A located error: `file:line: message`.
    static func error(_ path: String, _ line: Int?, _ message: String) -> GantryError {
        .invalidFile(path: line.map { "\(path):\($0)" } ?? path, problem: message)
    }

    public static func load(_ path: String) throws -> PipelineSpec {
        let bytes = try FileIO.readAll(path)
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw error(path, nil, "not UTF-8 text") }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> PipelineSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw PipelineSpec.error(path, nil, "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root, let top = root.mapping else { throw error(path, root?.mark?.line, "expected a mapping with name, inputs and stages") }
        func line(_ n: Node) -> Int? { n.mark?.line }
        var spec = PipelineSpec(path: path, name: "", description: "", inputs: [], stages: [])
        let known: Set<String> = ["name", "description", "inputs", "stages", "resources", "layout"]
        for (k, _) in top {
            guard let key = k.string, known.contains(key) else { throw error(path, line(k), "unknown key '\(k.string ?? "?")' (expected name, description, inputs, stages, resources, layout)") }
        }
        if let l = top["layout"] {
            guard let name = l.string, let layout = StudyLayout(rawValue: name) else {
                throw error(path, line(l), "layout must be \(StudyLayout.allCases.map(\.rawValue).joined(separator: " or ")), got '\(l.string ?? "?")'")
            }
            spec.layout = layout
        }
        if let r = top["resources"] { spec.resources = try resources(r, path: path) }
        guard let name = top["name"]?.string, !name.isEmpty else { throw error(path, line(root), "missing 'name'") }
        spec.name = name
        spec.description = top["description"]?.string ?? ""
        if let inputs = top["inputs"] {
            guard let m = inputs.mapping else { throw error(path, line(inputs), "'inputs' must map names to file patterns") }
            for (k, v) in m {
                guard let n = k.string, let p = v.string else { throw error(path, line(k), "input '\(k.string ?? "?")' must be a file pattern string") }
                guard p.contains("{subject}") || p.contains("*") || !p.isEmpty else { throw error(path, line(v), "empty pattern for input '\(n)'") }
                // Relative to the subject folder; one leading "../" reaches the study folder (e.g. a
                // reference subject or template), nothing may go further up.
                let parts = p.split(separator: "/")
                if p.hasPrefix("/") || parts.dropFirst(parts.first == ".." ? 1 : 0).contains("..") {
                    throw error(path, line(v), "input pattern '\(p)' must stay inside the study folder")
                }
                spec.inputs.append(Input(name: n, pattern: p, line: line(k) ?? 0))
            }
        }
        guard let stages = top["stages"], let seq = stages.sequence, !seq.isEmpty else { throw error(path, line(root), "missing 'stages' (a list)") }
        for s in seq {
            guard let m = s.mapping else { throw error(path, line(s), "each stage must be a mapping with id and uses") }
            let stageKeys: Set<String> = ["id", "uses", "inputs", "with", "matrix"]
            for (k, _) in m where !stageKeys.contains(k.string ?? "") {
                throw error(path, line(k), "unknown stage key '\(k.string ?? "?")' (expected id, uses, inputs, with, matrix)")
            }
            for combination in try matrix(m["matrix"], stage: m["id"]?.string ?? "?", path: path) {
                spec.stages.append(try stage(s, m, combination: combination, path: path))
            }
        }
        return spec
    }

    /// A sweep this large is a typo or an attack, not a study design: refused before anything is expanded.
    static let maxCombinations = 10_000

    /// The combinations of a stage's `matrix:` (every value of every key, keys in file order), or
    /// one empty combination when there is none.
    static func matrix(_ n: Node?, stage id: String, path: String) throws -> [[(MatrixValue, ParameterValue)]] {
        guard let n else { return [[]] }
        guard let m = n.mapping, m.count > 0 else { throw error(path, n.mark?.line, "stage '\(id)': 'matrix' must map names to lists of values") }
        var combinations: [[(MatrixValue, ParameterValue)]] = [[]]
        for (k, v) in m {
            guard let key = k.string, key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw error(path, k.mark?.line, "stage '\(id)': matrix names are words (letters, digits, '_'), got '\(k.string ?? "?")'")
            }
            guard let list = v.sequence, !list.isEmpty else { throw error(path, v.mark?.line, "stage '\(id)': matrix '\(key)' must be a non-empty list of values") }
            var values: [(MatrixValue, ParameterValue)] = []
            for item in list {
                guard item.scalar != nil else { throw error(path, item.mark?.line, "stage '\(id)': matrix '\(key)' values must be single numbers or words") }
                let typed = try value(item, path: path)
                let text = matrixText(typed)
                guard text.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil else {
                    throw error(path, item.mark?.line, "stage '\(id)': matrix '\(key)' value '\(item.string ?? "")' may use letters, digits, '.', '-' and '_' only (it names stages)")
                }
                guard !values.contains(where: { $0.0.value == text }) else { throw error(path, item.mark?.line, "stage '\(id)': matrix '\(key)' lists '\(text)' twice") }
                values.append((MatrixValue(key: key, value: text), typed))
            }
            guard combinations.count * values.count <= maxCombinations else {
                throw error(path, k.mark?.line, "stage '\(id)': matrix gives more than \(maxCombinations) combinations (split the sweep over several stages)")
            }
            combinations = combinations.flatMap { c in values.map { c + [$0] } }
        }
        return combinations
    }

    /// A value as it names a stage: whole numbers without a decimal point (4.0 → 4).
    static func matrixText(_ v: ParameterValue) -> String {
        if case .double(let d) = v, d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        if case .double(let d) = v { return "\(d)" }
        return v.stringValue ?? v.intValue.map(String.init) ?? v.boolValue.map(String.init) ?? "\(v)"
    }

    /// One stage (one copy of a sweep): `${key}` in the id, `uses`, input references and parameter
    /// values becomes the combination's value (a parameter that is exactly `${key}` takes the value
    /// with its type); an id without `${…}` gets the values appended (`recon-4-cs-tv`).
    static func stage(_ s: Node, _ m: Node.Mapping, combination: [(MatrixValue, ParameterValue)], path: String) throws -> Stage {
        func line(_ n: Node) -> Int? { n.mark?.line }
        let rawID = m["id"]?.string ?? ""
        // In ids and references (where '.' separates a stage from its output) a value's '.' is 'p'.
        func substitute(_ text: String, at n: Node?, naming: Bool = true) throws -> String {
            var out = text
            for (mv, _) in combination { out = out.replacingOccurrences(of: "${\(mv.key)}", with: naming ? mv.name : mv.value) }
            if let r = out.range(of: "\\$\\{[^}]*\\}", options: .regularExpression) {
                throw error(path, n.flatMap(line) ?? line(s), "stage '\(rawID)': \(out[r]) is not one of this stage's matrix names (\(combination.map(\.0.key).joined(separator: ", ")))")
            }
            return out
        }
        guard !rawID.isEmpty else { throw error(path, line(s), "stage without 'id'") }
        var id = try substitute(rawID, at: m["id"])
        if !combination.isEmpty && !rawID.contains("${") { id += "-" + combination.map(\.0.name).joined(separator: "-") }
        guard id.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) != nil else {
            throw error(path, m["id"].flatMap(line), "stage id '\(id)' may use letters, digits, '-' and '_' only")
        }
        guard let usesText = m["uses"]?.string else { throw error(path, line(s), "stage '\(id)' has no 'uses'") }
        let uses = try substitute(usesText, at: m["uses"], naming: false)
        var stage = Stage(id: id, uses: uses, inputs: [:], parameters: [:], line: line(s) ?? 0, lines: ["uses": m["uses"].flatMap(line) ?? 0],
                          matrix: combination.map(\.0))
        if let ins = m["inputs"] {
            guard let im = ins.mapping else { throw error(path, line(ins), "stage '\(id)': 'inputs' must map input names to references") }
            for (k, v) in im {
                guard let n = k.string else { throw error(path, line(k), "stage '\(id)': input names are strings") }
                let refs = v.sequence.map { $0.map(\.string) } ?? [v.string]
                guard !refs.isEmpty, refs.allSatisfy({ $0 != nil }) else {
                    throw error(path, line(k), "stage '\(id)': input references are strings like inputs.t1w or segment.mask, or a list of them")
                }
                stage.inputs[n] = try refs.compactMap { $0 }.map { try substitute($0, at: v) }
                stage.lines["input:" + n] = line(k)
            }
        }
        if let with = m["with"] {
            guard let wm = with.mapping else { throw error(path, line(with), "stage '\(id)': 'with' must map parameter names to values") }
            for (k, v) in wm {
                guard let n = k.string else { throw error(path, line(k), "stage '\(id)': parameter names are strings") }
                if let text = v.scalar?.string, let whole = combination.first(where: { text == "${\($0.0.key)}" }) {
                    stage.parameters[n] = whole.1
                } else {
                    stage.parameters[n] = try substituted(try value(v, path: path)) { try substitute($0, at: v, naming: false) }
                }
                stage.lines["param:" + n] = line(k)
            }
        }
        return stage
    }

    /// `value` with `${…}` replaced in every string it holds.
    static func substituted(_ value: ParameterValue, _ f: (String) throws -> String) throws -> ParameterValue {
        switch value {
        case .string(let t): return .string(try f(t))
        case .list(let items): return .list(try items.map { try substituted($0, f) })
        default: return value
        }
    }

    static func resources(_ n: Node, path: String) throws -> Resources {
        guard let m = n.mapping else { throw error(path, n.mark?.line, "'resources' must map partition, time, cpus_per_task, mem, account to values") }
        var r = Resources()
        for (k, v) in m {
            let key = k.string ?? "?"
            guard let text = v.string, !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" }) else {
                throw error(path, k.mark?.line, "resources: '\(key)' must be one word")
            }
            switch key {
            case "partition": r.partition = text
            case "time": r.time = text
            case "mem": r.mem = text
            case "account": r.account = text
            case "cpus_per_task":
                guard let c = Int(text), (1...1024).contains(c) else { throw error(path, k.mark?.line, "resources: cpus_per_task must be 1…1024, got '\(text)'") }
                r.cpusPerTask = c
            default: throw error(path, k.mark?.line, "resources: unknown key '\(key)' (expected partition, time, cpus_per_task, mem, account)")
            }
        }
        return r
    }

    static func value(_ n: Node, path: String) throws -> ParameterValue {
        if let seq = n.sequence { return .list(try seq.map { try value($0, path: path) }) }
        guard let scalar = n.scalar else { throw error(path, n.mark?.line, "parameter values are scalars or lists") }
        // Plain (unquoted) scalars are typed as YAML 1.2's core schema does; quoted ones stay strings.
        let text = scalar.string
        if scalar.style == .plain {
            if let i = Int(text) { return .int(i) }
            if let d = Double(text), text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(d) }
            if ["true", "True", "TRUE"].contains(text) { return .bool(true) }
            if ["false", "False", "FALSE"].contains(text) { return .bool(false) }
        }
        return .string(text)
    }
}

/// How a study folder is organised into units.
public enum StudyLayout: String, Sendable, CaseIterable {
    /// BIDS: `sub-*/` folders, with `ses-*/` inside where sessions exist.
    case bids
    /// BraTS as published: one folder per case (`BraTS2021_00000/BraTS2021_00000_t1.nii.gz`,
    /// `BraTS-GLI-00000-000/BraTS-GLI-00000-000-t1n.nii.gz`); every folder of the study is a case.
    case brats
}
