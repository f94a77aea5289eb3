import Foundation
import GantryCore

/// DICOM series into a BIDS study folder: every series converted by Debian's `dcm2niix` (the
/// field's converter — Gantry parses no DICOM itself), named from its sidecar's SeriesDescription
/// and ProtocolName by a small list of rules in the spirit of dcm2bids, sidecars kept. Series no
/// rule names are reported, never guessed; two series with one name are refused.
public enum DICOMImport {
    /// A naming rule: a case-insensitive regular expression over "SeriesDescription ProtocolName",
    /// and the BIDS name it gives (`T1w`, `ce-gd_T1w`, `T2w`, `FLAIR`, …). The first match wins.
    public struct Rule: Codable, Sendable, Equatable {
        public var pattern: String
        public var name: String
        public init(pattern: String, name: String) { self.pattern = pattern; self.name = name }
    }

    /// The four contrasts of Gantry's tumour pipelines, as scanners commonly call them.
    public static let defaultRules = [
        Rule(pattern: "flair", name: "FLAIR"),
        Rule(pattern: "(t1|mprage|spgr|bravo|tfl).*(gd|gad|post|\\+c|contrast)|(gd|gad|post|contrast).*(t1|mprage)", name: "ce-gd_T1w"),
        Rule(pattern: "t1|mprage|spgr|bravo|tfl", name: "T1w"),
        Rule(pattern: "t2", name: "T2w"),
    ]

    public struct Result: Sendable {
        /// Files written, relative to the study folder.
        public var written: [String]
        /// Series no rule named: "series 12 (CBU_DTI_64D_1A)".
        public var unmapped: [String]
    }

    /// Rules from a JSON file: `{"series": [{"pattern": "mprage", "name": "T1w"}, …]}`.
    public static func rules(fromFile path: String) throws -> [Rule] {
        struct File: Codable { var series: [Rule] }
        do {
            let rules = try JSONDecoder().decode(File.self, from: Data(FileIO.readAll(path))).series
            for r in rules {
                _ = try NSRegularExpression(pattern: r.pattern, options: .caseInsensitive)
                guard r.name.range(of: "^([a-z]+-[A-Za-z0-9]+_)*[A-Za-z0-9]+$", options: .regularExpression) != nil else {
                    throw GantryError.invalidFile(path: path, problem: "'\(r.name)' is not a BIDS name such as T1w or ce-gd_T1w")
                }
            }
            return rules
        } catch let e as GantryError { throw e } catch {
            throw GantryError.invalidFile(path: path, problem: "not a naming config ({\"series\": [{\"pattern\": …, \"name\": …}]}): \(error.localizedDescription)")
        }
    }

    public static func run(dicom: String, study: String, subject: String, session: String?, rules: [Rule] = defaultRules,
                           converter: String = "dcm2niix") throws -> Result {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dicom, isDirectory: &isDir), isDir.boolValue else { throw GantryError.fileNotFound(path: dicom + " (DICOM folder)") }
        let sub = subject.hasPrefix("sub-") ? subject : "sub-" + subject
        let ses = session.map { $0.hasPrefix("ses-") ? $0 : "ses-" + $0 }
        for label in [sub, ses].compactMap({ $0 }) where label.range(of: "^(sub|ses)-[A-Za-z0-9]+$", options: .regularExpression) == nil {
            throw GantryError.invalidArgument("'\(label)': BIDS labels are letters and digits")
        }
        try FileManager.default.createDirectory(atPath: study, withIntermediateDirectories: true)
        let tmp = "\(study)/.gantry-import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try convert(dicom, into: tmp, converter: converter)
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.hasSuffix(".json") }.sorted()
        guard !sidecars.isEmpty else { throw GantryError.invalidFile(path: dicom, problem: "no DICOM images dcm2niix could convert") }
        let compiled = try rules.map { (try NSRegularExpression(pattern: $0.pattern, options: .caseInsensitive), $0.name) }
        var named: [String: String] = [:], unmapped: [String] = []
        for json in sidecars {
            let stem = String(json.dropLast(5))
            guard FileManager.default.fileExists(atPath: "\(tmp)/\(stem).nii.gz") else { continue }
            let meta = (try? JSONSerialization.jsonObject(with: Data(FileIO.readAll("\(tmp)/\(json)"))) as? [String: Any]) ?? [:]
            let text = [meta["SeriesDescription"], meta["ProtocolName"]].compactMap { $0 as? String }.joined(separator: " ")
            let series = (meta["SeriesNumber"] as? Int).map(String.init) ?? stem
            guard let name = compiled.first(where: { $0.0.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil })?.1 else {
                unmapped.append("series \(series) (\(text.isEmpty ? stem : text))")
                continue
            }
            if let other = named[name] {
                throw GantryError.invalidArgument("series \(other) and \(stem) would both be \(name): refine the naming rules (--config)")
            }
            named[name] = stem
        }
        guard !named.isEmpty else {
            throw GantryError.invalidArgument("no series matched a naming rule: \(unmapped.joined(separator: "; "))")
        }
        let folder = ([sub] + (ses.map { [$0] } ?? []) + ["anat"]).joined(separator: "/")
        try FileManager.default.createDirectory(atPath: "\(study)/\(folder)", withIntermediateDirectories: true)
        let prefix = ([sub] + (ses.map { [$0] } ?? [])).joined(separator: "_")
        var written: [String] = []
        for (name, stem) in named.sorted(by: { $0.key < $1.key }) {
            for ext in [".nii.gz", ".json"] {
                let rel = "\(folder)/\(prefix)_\(name)\(ext)"
                try FileIO.replaceItem(at: "\(study)/\(rel)", with: "\(tmp)/\(stem)\(ext)")
                written.append(rel)
            }
        }
        try describe(study: study, participant: sub)
        return Result(written: written, unmapped: unmapped)
    }

    /// dcm2niix: gzipped NIfTI with BIDS sidecars, one file per series, named by series number.
    static func convert(_ dicom: String, into folder: String, converter: String) throws {
        guard let exe = Subprocess.find(converter) else {
            throw GantryError.invalidArgument("\(converter) not found (Debian package dcm2niix; make deps installs it)")
        }
        let r = try Subprocess.run(exe, ["-b", "y", "-z", "y", "-f", "%s_%d", "-o", folder, dicom], timeout: timeLimit)
        if r.timedOut { throw GantryError.invalidFile(path: dicom, problem: "\(converter) did not finish within \(Int(timeLimit)) s") }
        // dcm2niix exits 2 when a folder holds no DICOM; other failures name themselves on stderr.
        guard r.status == 0 || r.status == 2 else {
            let said = r.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(r.status)"
            throw GantryError.invalidFile(path: dicom, problem: "dcm2niix failed: \(said)")
        }
    }

    /// dcm2niix converts a scanner session (thousands of slices) in seconds to a minute; an hour
    /// means it is stuck on the input.
    static let timeLimit = 3600.0

    /// A raw BIDS dataset's dataset_description.json (once) and the participant in participants.tsv.
    static func describe(study: String, participant: String) throws {
        let description = study + "/dataset_description.json"
        if !FileManager.default.fileExists(atPath: description) {
            let obj: [String: Any] = ["Name": (study as NSString).lastPathComponent, "BIDSVersion": "1.9.0", "DatasetType": "raw",
                                      "GeneratedBy": [["Name": "Gantry import dicom (dcm2niix)", "Version": GantryVersion.string]]]
            try FileIO.writeJSON(description, obj)
        }
        let tsv = study + "/participants.tsv"
        var rows = (try? String(contentsOfFile: tsv, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? ["participant_id"]
        if !rows.dropFirst().contains(where: { $0.split(separator: "\t").first.map(String.init) == participant }) {
            rows.append(participant)
            try FileIO.writeAtomically(tsv, text: rows.joined(separator: "\n") + "\n")
        }
    }
}
