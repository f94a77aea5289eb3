import Foundation
import GantryCore

/// Whether a stage runs once per subject or once for the whole study (reports).
public enum StageScope: String, Sendable { case subject, group }

/// One file handed to a stage, with the subject it belongs to.
public struct SubjectFile: Sendable, Equatable {
    public var subject: String
    public var path: String
    /// The stage that wrote it (nil for the study's own files) and that stage's sweep values.
    public var stage: String?
    public var matrix: [PipelineSpec.MatrixValue]

    public init(subject: String, path: String, stage: String? = nil, matrix: [PipelineSpec.MatrixValue] = []) {
        self.subject = subject; self.path = path; self.stage = stage; self.matrix = matrix
    }

    /// The sweep value of `key`, if the stage that wrote the file had one.
    public func value(_ key: String) -> String? { matrix.first { $0.key == key }?.value }
}

/// Resolved inputs of one stage run: for subject stages one file per name, for group stages one per
/// subject (in subject order).
public struct StageInputs: Sendable {
    public var files: [String: [SubjectFile]]
    /// Files a study stage that reports failures expected but that failed subjects did not write
    /// (empty otherwise).
    public var missing: [String: [SubjectFile]] = [:]

    public init(files: [String: [SubjectFile]], missing: [String: [SubjectFile]] = [:]) { self.files = files; self.missing = missing }

    /// The single file for `name` (subject stages), or an error naming the missing input.
    public func path(_ name: String) throws -> String {
        guard let f = files[name]?.first else { throw GantryError.invalidArgument("stage input '\(name)' is missing") }
        return f.path
    }

    public func optionalPath(_ name: String) -> String? { files[name]?.first?.path }
}

/// What a running stage may use besides its inputs.
public struct StageContext: Sendable {
    public var subject: String?
    public var stageID: String
    /// Output root (the run's OUT folder), for group stages that read other subjects' provenance.
    public var outputRoot: String
    /// Reports something the user should know about a result that is still produced (a label
    /// convention that looks wrong, voxels replaced): printed with the subject and stage, and kept
    /// in the stage's provenance.json under "warnings".
    public var warn: @Sendable (String) -> Void = { _ in }

    public init(subject: String?, stageID: String, outputRoot: String, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.subject = subject; self.stageID = stageID; self.outputRoot = outputRoot; self.warn = warn
    }

    /// How an output records a file it was made from: relative to OUT for Gantry's own outputs (the
    /// same bytes wherever OUT is, as BIDS derivatives prefer), the study's files as they are.
    public func recorded(_ path: String) -> String {
        path.hasPrefix(outputRoot + "/") ? String(path.dropFirst(outputRoot.count + 1)) : path
    }
}

/// A kind of stage (`uses:` in a pipeline). A stage is a pure function of its input files and
/// parameters: the executor hashes both to decide what can be skipped, writes outputs into a
/// temporary folder and moves them into place only when `run` returns.
public protocol StageKind: Sendable {
    static var name: String { get }
    static var summary: String { get }
    static var scope: StageScope { get }
    static var requiredInputs: [String] { get }
    static var optionalInputs: [String] { get }
    /// Output name → file name (inside the stage folder for subject stages, in OUT/reports for group stages).
    static var outputs: [String: String] { get }
    static var parameters: [ParameterSpec] { get }
    /// Output name → how it appears in the BIDS derivatives dataset (outputs not named there stay
    /// in the stage folder only: metrics, pictures, reports).
    static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName]
    /// A study stage that still runs when subjects failed, over the files they did write, and is
    /// told which are missing (`StageInputs.missing`) so its report marks them: a sweep's failed
    /// combinations are part of what it reports. The run still fails, naming the subjects.
    static var reportsFailures: Bool { get }
    /// What the stage reads of the run beyond its inputs (e.g. every stage's warnings), as text that
    /// joins its cache key: when that changes, the stage runs again though its inputs did not.
    static func runState(root: String) -> String?

    /// Runs the stage: read `inputs`, write each file of `outputs` (absolute paths, in a temporary
    /// folder the executor moves into place).
    static func run(inputs: StageInputs, parameters: [String: ParameterValue], outputs: [String: String], context: StageContext) throws
}

extension StageKind {
    public static var optionalInputs: [String] { [] }
    public static var reportsFailures: Bool { false }
    public static func runState(root: String) -> String? { nil }
    public static func bidsOutputs(parameters: [String: ParameterValue]) -> [String: BIDSName] { [:] }

    /// Output name → file name for these parameters (default: `outputs`; group stages prepend the
    /// optional `prefix` parameter).
    public static func outputFiles(parameters: [String: ParameterValue]) -> [String: String] {
        guard scope == .group, let p = parameters["prefix"]?.stringValue, !p.isEmpty else { return outputs }
        return outputs.mapValues { p + $0 }
    }
}

/// The stage kinds a pipeline may use, by name.
public enum StageRegistry {
    private static let extra = LockedValue([String: any StageKind.Type]())

    public static var all: [String: any StageKind.Type] {
        var d: [String: any StageKind.Type] = [:]
        for k in builtIn { d[k.name] = k }
        for (n, k) in extra.value { d[n] = k }
        return d
    }

    static let builtIn: [any StageKind.Type] = [
        ConvertStage.self, DICOMStage.self, TissueSegmentationStage.self, DiceStage.self, SnapshotStage.self,
        DiceReportStage.self, HTMLReportStage.self,
        ZeroFilledStage.self, SenseStage.self, CSL1Stage.self, CSTVStage.self, RIMStage.self, CIRIMStage.self, ReconReportStage.self, AccelerationReportStage.self,
        RigidRegistrationStage.self, AffineRegistrationStage.self, SyNRegistrationStage.self,
        UNetSegmentationStage.self,
    ]

    /// Adds a stage kind (tests, plug-ins).
    public static func register(_ kind: any StageKind.Type) { extra.value[kind.name] = kind }
}
