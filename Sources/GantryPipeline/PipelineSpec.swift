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
        public var inputs: [String: String]
        public var parameters: [String: ParameterValue]
        public var line: Int
        public var lines: [String: Int]  // per input/parameter key
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
            let stageKeys: Set<String> = ["id", "uses", "inputs", "with"]
            for (k, _) in m where !stageKeys.contains(k.string ?? "") {
                throw error(path, line(k), "unknown stage key '\(k.string ?? "?")' (expected id, uses, inputs, with)")
            }
            guard let id = m["id"]?.string, !id.isEmpty else { throw error(path, line(s), "stage without 'id'") }
            guard id.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) != nil else {
                throw error(path, m["id"].flatMap(line), "stage id '\(id)' may use letters, digits, '-' and '_' only")
            }
            guard let uses = m["uses"]?.string else { throw error(path, line(s), "stage '\(id)' has no 'uses'") }
            var stage = Stage(id: id, uses: uses, inputs: [:], parameters: [:], line: line(s) ?? 0, lines: ["uses": m["uses"].flatMap(line) ?? 0])
            if let ins = m["inputs"] {
                guard let im = ins.mapping else { throw error(path, line(ins), "stage '\(id)': 'inputs' must map input names to references") }
                for (k, v) in im {
                    guard let n = k.string, let r = v.string else { throw error(path, line(k), "stage '\(id)': input references are strings like inputs.t1w or segment.mask") }
                    stage.inputs[n] = r
                    stage.lines["input:" + n] = line(k)
                }
            }
            if let with = m["with"] {
                guard let wm = with.mapping else { throw error(path, line(with), "stage '\(id)': 'with' must map parameter names to values") }
                for (k, v) in wm {
                    guard let n = k.string else { throw error(path, line(k), "stage '\(id)': parameter names are strings") }
                    stage.parameters[n] = try value(v, path: path)
                    stage.lines["param:" + n] = line(k)
                }
            }
            spec.stages.append(stage)
        }
        return spec
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
