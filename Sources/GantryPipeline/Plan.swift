import Foundation
import GantryCore

/// A validated pipeline bound to a study: every stage's kind, parameters (defaults filled in) and
/// input references checked, the stages in dependency order, and every subject's input files found.
/// Nothing runs until all of this holds.
public struct Plan: Sendable {
    public struct Step: Sendable {
        public var stage: PipelineSpec.Stage
        public var kind: any StageKind.Type
        public var parameters: [String: ParameterValue]
        /// The stages whose outputs this one reads.
        public var dependsOn: Set<String> = []
    }

    public var spec: PipelineSpec
    public var study: String
    public var out: String
    public var subjects: [String]
    /// subject → input name → file.
    public var inputFiles: [String: [String: String]]
    /// Stages in dependency order (subject stages first, then group stages).
    public var steps: [Step]

    /// `followSymlinks`: accept input files whose real location is outside `study` (refused by
    /// default: a link planted in a study folder must not feed a run files from elsewhere).
    /// `models`: folders searched for file parameters (checkpoints) not found beside the pipeline.
    /// `subjects`/`sessions`: only these (labels with or without `sub-`/`ses-`, or whole units
    /// `sub-01/ses-01`).
    public static func make(spec: PipelineSpec, study: String, out: String, subjects filter: [String] = [], sessions: [String] = [],
                            followSymlinks: Bool = false, models: [String] = []) throws -> Plan {
        // Absolute paths: what the outputs record of their inputs is the same however the folders
        // were named on the command line, and the same in a Slurm task started elsewhere.
        let study = absolutePath(study), out = absolutePath(out)
        let path = spec.path
        func fail(_ line: Int?, _ m: String) -> GantryError { PipelineSpec.error(path, line, m) }
        let registry = StageRegistry.all
        var steps: [String: Step] = [:]
        var order: [String] = []
        for s in spec.stages {
            if steps[s.id] != nil { throw fail(s.line, "stage id '\(s.id)' is used twice") }
            guard let kind = registry[s.uses] else {
                throw fail(s.lines["uses"], "unknown stage kind '\(s.uses)' (known: \(registry.keys.sorted().joined(separator: ", ")))")
            }
            // Parameters: known, typed, required present; defaults filled in.
            var params: [String: ParameterValue] = [:]
            let specs = Dictionary(uniqueKeysWithValues: kind.parameters.map { ($0.name, $0) })
            for (name, value) in s.parameters {
                guard let p = specs[name] else {
                    throw fail(s.lines["param:" + name], "stage '\(s.id)': \(s.uses) has no parameter '\(name)' (parameters: \(kind.parameters.map(\.name).joined(separator: ", ")))")
                }
                guard p.type.accepts(value) else {
                    throw fail(s.lines["param:" + name], "stage '\(s.id)': parameter '\(name)' must be \(p.type.rawValue), got '\(value)'")
                }
                params[name] = p.type == .double ? (value.doubleValue.map(ParameterValue.double) ?? value) : value
            }
            for p in kind.parameters where params[p.name] == nil {
                guard let d = p.defaultValue else { throw fail(s.line, "stage '\(s.id)': missing required parameter '\(p.name)' (\(p.help))") }
                params[p.name] = d
            }
            // Files the stage will read are found now, so a run never fails half-way for a missing one.
            for p in kind.parameters where p.type == .file {
                guard let given = params[p.name]?.stringValue, !given.isEmpty else { continue }
                guard let found = resolveFile(given, pipeline: path, models: models) else {
                    throw fail(s.lines["param:" + p.name], "stage '\(s.id)': \(p.name) '\(given)' not found (looked beside the pipeline and in: \((models + [sharedModels]).joined(separator: ", ")))")
                }
                params[p.name] = .string(found)
            }
            // Inputs: names the kind knows, required ones present.
            let allowed = Set(kind.requiredInputs + kind.optionalInputs)
            for name in s.inputs.keys where !allowed.contains(name) {
                throw fail(s.lines["input:" + name], "stage '\(s.id)': \(s.uses) has no input '\(name)' (inputs: \(allowed.sorted().joined(separator: ", ")))")
            }
            for name in kind.requiredInputs where s.inputs[name] == nil {
                throw fail(s.line, "stage '\(s.id)': missing input '\(name)'")
            }
            steps[s.id] = Step(stage: s, kind: kind, parameters: params)
            order.append(s.id)
        }
        // References and dependencies.
        let declared = Set(spec.inputs.map(\.name))
        for id in order {
            guard var step = steps[id] else { continue }
            var d = Set<String>()
            for (name, given) in step.stage.inputs {
                let line = step.stage.lines["input:" + name]
                // A wildcard stage part (`dice-*.metrics`) stands for every stage it matches, in file order.
                var refs: [String] = []
                for ref in given {
                    let parts = ref.split(separator: ".", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { throw fail(line, "stage '\(id)': input '\(name)' must reference inputs.<name> or <stage>.<output>, got '\(ref)'") }
                    guard parts[0].contains(where: { "*?[".contains($0) }) else { refs.append(ref); continue }
                    let matched = order.filter { $0 != id && fnmatch(parts[0], $0, 0) == 0 }
                    guard !matched.isEmpty else { throw fail(line, "stage '\(id)': input '\(name)': no stage id matches '\(parts[0])'") }
                    refs += matched.map { "\($0).\(parts[1])" }
                }
                if step.kind.scope == .subject && refs.count != 1 {
                    throw fail(line, "stage '\(id)': input '\(name)' takes one reference (\(refs.count) given); lists and wildcards are for study-level stages")
                }
                step.stage.inputs[name] = refs
                for ref in refs {
                    let parts = ref.split(separator: ".", maxSplits: 1).map(String.init)
                    if parts[0] == "inputs" {
                        guard declared.contains(parts[1]) else { throw fail(line, "stage '\(id)': no pipeline input '\(parts[1])' (declared: \(declared.sorted().joined(separator: ", ")))") }
                        continue
                    }
                    guard let src = steps[parts[0]] else { throw fail(line, "stage '\(id)': no stage '\(parts[0])'") }
                    guard src.kind.outputs[parts[1]] != nil else {
                        throw fail(line, "stage '\(id)': stage '\(parts[0])' (\(src.kind.name)) has no output '\(parts[1])' (outputs: \(src.kind.outputs.keys.sorted().joined(separator: ", ")))")
                    }
                    if step.kind.scope == .subject && src.kind.scope == .group {
                        throw fail(line, "stage '\(id)': a per-subject stage cannot use the study-level output of '\(parts[0])'")
                    }
                    d.insert(parts[0])
                }
            }
            step.dependsOn = d
            steps[id] = step
        }
        // Topological order (Kahn), stable in file order; a leftover means a cycle.
        var sorted: [String] = []
        var remaining = order
        while !remaining.isEmpty {
            guard let next = remaining.first(where: { steps[$0]?.dependsOn.isSubset(of: Set(sorted)) ?? true }) else {
                throw fail(steps[remaining[0]]?.stage.line, "stages form a cycle: \(remaining.joined(separator: " → "))")
            }
            sorted.append(next)
            remaining.removeAll { $0 == next }
        }
        let ordered = sorted.compactMap { steps[$0] }
        let finalSteps = ordered.filter { $0.kind.scope == .subject } + ordered.filter { $0.kind.scope == .group }
        // Study-level outputs: names stay inside OUT/reports and never collide.
        var written: [String: String] = [:]
        for step in finalSteps where step.kind.scope == .group {
            for file in groupOutputFiles(step).sorted(by: { $0.key < $1.key }).map(\.value) {
                if file.contains("/") || file.contains("..") || file.isEmpty {
                    throw fail(step.stage.line, "stage '\(step.stage.id)': output '\(file)' would escape the output folder")
                }
                if let other = written[file] { throw fail(step.stage.line, "stages '\(other)' and '\(step.stage.id)' both write reports/\(file)") }
                written[file] = step.stage.id
            }
        }
        // Subjects and their input files.
        let subjects = spec.layout == .brats ? try discoverCases(study: study, filter: filter)
                                             : try discoverSubjects(study: study, filter: filter, sessions: sessions)
        let studyRoot = URL(fileURLWithPath: study).resolvingSymlinksInPath().path
        var files: [String: [String: String]] = [:]
        for sub in subjects {
            for input in spec.inputs {
                let file = try match(input: input, subject: sub, study: study, path: path)
                let real = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
                if !followSymlinks && !real.hasPrefix(studyRoot + "/") {
                    throw GantryError.invalidFile(path: file, problem: "a symbolic link to \(real), outside the study folder (allow with --follow-symlinks)")
                }
                files[sub, default: [:]][input.name] = file
            }
        }
        return Plan(spec: spec, study: study, out: out, subjects: subjects, inputFiles: files, steps: finalSteps)
    }

    static func absolutePath(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }

    /// Where Gantry's installed models live: `<prefix>/share/gantry/models` beside `<prefix>/bin/gantry`.
    public static var sharedModels: String {
        URL(fileURLWithPath: CommandLine.arguments.first ?? "gantry").resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/gantry/models").path
    }

    /// A file parameter's path: absolute as given; relative, beside the pipeline file, then in each
    /// models folder (as given, then by file name), then in the installed share folder.
    static func resolveFile(_ given: String, pipeline: String, models: [String]) -> String? {
        let fm = FileManager.default
        if given.hasPrefix("/") { return fm.fileExists(atPath: given) ? given : nil }
        let beside = URL(fileURLWithPath: pipeline).absoluteURL.deletingLastPathComponent().appendingPathComponent(given).standardizedFileURL.path
        var candidates = [beside]
        for folder in models + [sharedModels] {
            candidates.append(URL(fileURLWithPath: folder).absoluteURL.appendingPathComponent(given).standardizedFileURL.path)
            candidates.append(URL(fileURLWithPath: folder).absoluteURL.appendingPathComponent((given as NSString).lastPathComponent).path)
        }
        return candidates.first { fm.fileExists(atPath: $0) }
    }

    static func groupOutputFiles(_ step: Step) -> [String: String] {
        step.kind.outputFiles(parameters: step.parameters)
    }

    /// The study's units, in order: `sub-X`, or `sub-X/ses-Y` for each session folder a subject
    /// has (BIDS: sessions are processed separately, their outputs nested the same way).
    static func discoverSubjects(study: String, filter: [String], sessions: [String] = []) throws -> [String] {
        let fm = FileManager.default
        func folders(_ dir: String, _ prefix: String) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { name in
                var isDir: ObjCBool = false
                return name.hasPrefix(prefix) && fm.fileExists(atPath: dir + "/" + name, isDirectory: &isDir) && isDir.boolValue
            }.sorted()
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: study, isDirectory: &isDir), isDir.boolValue else {
            throw GantryError.fileNotFound(path: study + " (study folder)")
        }
        let all = folders(study, "sub-")
        guard !all.isEmpty else { throw GantryError.invalidFile(path: study, problem: "no sub-* folders in the study") }
        var units: [String] = []
        for sub in all {
            let ses = folders(study + "/" + sub, "ses-")
            units += ses.isEmpty ? [sub] : ses.map { "\(sub)/\($0)" }
        }
        // "01" and "sub-01" name the same subject, as in BIDS Apps' --participant-label.
        let wanted = filter.map { $0.hasPrefix("sub-") ? $0 : "sub-" + $0 }
        for w in wanted where !units.contains(where: { $0 == w || $0.hasPrefix(w + "/") }) {
            throw GantryError.invalidArgument("\(study): no subject \(w)")
        }
        if !wanted.isEmpty { units = units.filter { u in wanted.contains { u == $0 || u.hasPrefix($0 + "/") } } }
        if !sessions.isEmpty {
            let ses = Set(sessions.map { $0.hasPrefix("ses-") ? $0 : "ses-" + $0 })
            units = units.filter { u in u.split(separator: "/").dropFirst().first.map { ses.contains(String($0)) } ?? false }
            guard !units.isEmpty else { throw GantryError.invalidArgument("\(study): no session \(ses.sorted().joined(separator: ", ")) in the subjects chosen") }
        }
        return units
    }

    /// The case folders of a BraTS-style study (every folder not starting with '.'), in order;
    /// `filter` names cases exactly.
    static func discoverCases(study: String, filter: [String]) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: study, isDirectory: &isDir), isDir.boolValue else {
            throw GantryError.fileNotFound(path: study + " (study folder)")
        }
        let cases = try fm.contentsOfDirectory(atPath: study).filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: study + "/" + name, isDirectory: &d) && d.boolValue
        }.sorted()
        guard !cases.isEmpty else { throw GantryError.invalidFile(path: study, problem: "no case folders in the study") }
        for f in filter where !cases.contains(f) { throw GantryError.invalidArgument("\(study): no case \(f)") }
        return filter.isEmpty ? cases : cases.filter { filter.contains($0) }
    }

    /// The file of `input` for a unit. `{subject}` is the unit's BIDS file-name prefix: `sub-01`,
    /// or `sub-01_ses-01` for a session.
    static func match(input: PipelineSpec.Input, subject: String, study: String, path: String) throws -> String {
        let rel = input.pattern.replacingOccurrences(of: "{subject}", with: subject.replacingOccurrences(of: "/", with: "_"))
        // Standardised ("sub-02/../sub-01/…" → "sub-01/…"): outputs record it.
        let full = absolutePath("\(study)/\(subject)/\(rel)")
        if !rel.contains("*") {
            guard FileManager.default.fileExists(atPath: full) else {
                throw PipelineSpec.error(path, input.line, "\(subject): no file for input '\(input.name)' (\(full))")
            }
            return full
        }
        let dir = (full as NSString).deletingLastPathComponent, glob = (full as NSString).lastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { fnmatch(glob, $0, 0) == 0 }.sorted()
        guard names.count == 1 else {
            throw PipelineSpec.error(path, input.line, "\(subject): input '\(input.name)' pattern \(rel) matches \(names.count) files (needs exactly one)")
        }
        return dir + "/" + names[0]
    }
}
