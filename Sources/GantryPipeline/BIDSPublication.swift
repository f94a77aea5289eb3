import Foundation
import GantryCore
import GantryIO

/// How a stage output appears in the BIDS derivatives dataset that OUT is:
/// `sub-01[_ses-X]_space-<space>_desc-<stage>_<suffix>.nii.gz` under `sub-01[/ses-X]/anat/`, with a
/// JSON sidecar and, for label images, a `_dseg.tsv` label table.
public struct BIDSName: Sendable, Equatable {
    /// `dseg`, `probseg`, `mask`, `xfm`, or `nil` for "the suffix of the input image this came from"
    /// (a warped T1w stays a T1w).
    public var suffix: String?
    /// The input whose BIDS suffix an image output takes when `suffix` is nil.
    public var suffixFrom: String?
    /// `orig` (the grid of the subject's own images) or `template` (the fixed image's).
    public var space: String
    /// Label names by value, for label images (the `_dseg.tsv` table).
    public var labels: [(Int, String)]?
    /// Entities before `space` that a transform carries instead (`from-orig_to-template_mode-image`).
    public var transform: Bool

    public static func dseg(_ space: String = "orig", labels: [(Int, String)]) -> BIDSName {
        BIDSName(suffix: "dseg", suffixFrom: nil, space: space, labels: labels, transform: false)
    }
    public static func image(like input: String, space: String) -> BIDSName {
        BIDSName(suffix: nil, suffixFrom: input, space: space, labels: nil, transform: false)
    }
    public static let xfm = BIDSName(suffix: "xfm", suffixFrom: nil, space: "template", labels: nil, transform: true)

    public static func == (a: BIDSName, b: BIDSName) -> Bool {
        a.suffix == b.suffix && a.suffixFrom == b.suffixFrom && a.space == b.space && a.transform == b.transform
            && a.labels.map { $0.map { "\($0.0)=\($0.1)" } } == b.labels.map { $0.map { "\($0.0)=\($0.1)" } }
    }
}

/// Publishes finished stage outputs into the BIDS dataset: hard links (copies where links are not
/// possible) made under a temporary name and renamed, so a reader never sees a partial file and the
/// stage folder stays the one source of truth for caching.
enum BIDSPublication {
    /// `desc-` labels are alphanumeric: the stage id without its `-` and `_`.
    static func desc(_ stageID: String) -> String { stageID.filter { $0.isLetter || $0.isNumber } }

    /// The BIDS suffix of a file named the BIDS way (`sub-01_ce-gd_T1w.nii.gz` → `T1w`).
    static func suffix(ofFile path: String) -> String? {
        var name = (path as NSString).lastPathComponent
        for ext in [".nii.gz", ".nii", ".h5"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        guard name.hasPrefix("sub-"), let last = name.split(separator: "_").last, !last.contains("-") else { return nil }
        return last.allSatisfy { $0.isLetter || $0.isNumber } ? String(last) : nil
    }

    /// The dataset-relative path of an output, or nil when it has no BIDS form here.
    static func path(unit: String, stageID: String, output: String, name: BIDSName, inputs: [String: String]) -> String? {
        let prefix = unit.replacingOccurrences(of: "/", with: "_")
        guard let suffix = name.suffix ?? name.suffixFrom.flatMap({ inputs[$0] }).flatMap(suffix(ofFile:)) else { return nil }
        let ext = (output as NSString).pathExtension == "gz" ? ".nii.gz" : "." + (output as NSString).pathExtension
        let entities = name.transform ? "from-orig_to-\(name.space)_mode-image_desc-\(desc(stageID))" : "space-\(name.space)_desc-\(desc(stageID))"
        return "\(unit)/anat/\(prefix)_\(entities)_\(suffix)\(ext)"
    }

    /// Links each BIDS-named output of a finished stage into the dataset, with its sidecars.
    static func publish(_ step: Plan.Step, subject: String, stageFolder: String, inputs: [String: String], plan: Plan) throws {
        let names = step.kind.bidsOutputs(parameters: step.parameters)
        // Only BIDS units have a BIDS form (a BraTS case folder keeps its outputs in stages/).
        guard !names.isEmpty, subject.hasPrefix("sub-") else { return }
        let files = step.kind.outputFiles(parameters: step.parameters)
        for (output, name) in names.sorted(by: { $0.key < $1.key }) {
            guard let file = files[output], let rel = path(unit: subject, stageID: step.stage.id, output: file, name: name, inputs: inputs) else { continue }
            let source = "\(stageFolder)/\(file)"
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let target = "\(plan.out)/\(rel)"
            try FileLock.createFolders((rel as NSString).deletingLastPathComponent, under: plan.out)
            try place(source, at: target)
            let stem = String(target.dropLast(target.hasSuffix(".nii.gz") ? 7 : (target as NSString).pathExtension.count + 1))
            try FileIO.writeAtomically(stem + ".json", bytes: try sidecar(step, output: output, inputs: inputs, plan: plan))
            if let labels = name.labels {
                let rows = ["index\tname"] + labels.map { "\($0.0)\t\($0.1)" }
                try FileIO.writeAtomically(stem + ".tsv", text: rows.joined(separator: "\n") + "\n")
            }
        }
    }

    /// The sidecar: where the file came from (BIDS URIs into the raw dataset or this one) and how.
    static func sidecar(_ step: Plan.Step, output: String, inputs: [String: String], plan: Plan) throws -> [UInt8] {
        let sources = inputs.sorted { $0.key < $1.key }.map { _, path -> String in
            if path.hasPrefix(plan.study + "/") { return "bids:raw:" + path.dropFirst(plan.study.count + 1) }
            if path.hasPrefix(plan.out + "/") { return "bids::" + path.dropFirst(plan.out.count + 1) }
            return path
        }
        let obj: [String: Any] = ["Sources": sources, "Description": step.kind.summary,
                                  "GeneratedBy": ["Name": "Gantry", "Version": GantryVersion.string, "Stage": step.stage.id, "Kind": step.kind.name, "Output": output],
                                  "Parameters": step.parameters.mapValues { $0.jsonObject }]
        return try FileIO.jsonBytes(obj)
    }

    /// `target` becomes the same file as `source`: a hard link, or a copy across file systems.
    static func place(_ source: String, at target: String) throws {
        let tmp = "\(target).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if link(source, tmp) != 0 {
            do { try FileManager.default.copyItem(atPath: source, toPath: tmp) } catch {
                throw GantryError.writeFailed(path: target, problem: "cannot link or copy \(source): \(error.localizedDescription)")
            }
        }
        let renamed = rename(tmp, target) == 0
        let problem = String(cString: strerror(errno))
        // rename(2) of two links to one file does nothing and succeeds: the temporary stays, so it
        // is removed in every case.
        unlink(tmp)
        guard renamed else { throw GantryError.writeFailed(path: target, problem: problem) }
    }
}
