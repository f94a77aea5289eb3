import Foundation
import GantryCore

/// A folder of cases laid out as nnU-Net lays out its inputs (`imagesTs/`): one file per case and
/// channel, `CASE_XXXX.nii.gz` with XXXX the channel index from 0000 — what `nnUNetv2_predict -i`
/// reads. Channels are taken in index order, which must run 0, 1, … without gaps.
public enum CaseFolder {
    public struct Case: Sendable, Equatable {
        public var name: String
        public var channels: [String]
    }

    public static func nnUNetCases(_ folder: String) throws -> [Case] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw GantryError.fileNotFound(path: folder + " (input folder)")
        }
        var byCase: [String: [Int: String]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            guard let ext = [".nii.gz", ".nii"].first(where: { file.hasSuffix($0) }) else { continue }
            let stem = file.dropLast(ext.count)
            guard stem.count > 5, stem[stem.index(stem.endIndex, offsetBy: -5)] == "_",
                  let channel = Int(stem.suffix(4)), stem.suffix(4).allSatisfy(\.isNumber) else {
                throw GantryError.invalidFile(path: "\(folder)/\(file)", problem: "not named CASE_XXXX.nii.gz (nnU-Net: case name, underscore, 4-digit channel)")
            }
            byCase[String(stem.dropLast(5)), default: [:]][channel] = "\(folder)/\(file)"
        }
        guard !byCase.isEmpty else { throw GantryError.invalidFile(path: folder, problem: "no CASE_XXXX.nii.gz files") }
        return try byCase.keys.sorted().map { name in
            let channels = byCase[name] ?? [:]
            guard channels.keys.sorted() == Array(0..<channels.count) else {
                throw GantryError.invalidFile(path: folder, problem: "case \(name) has channels \(channels.keys.sorted().map { String(format: "%04d", $0) }.joined(separator: ", ")); they must run 0000, 0001, … without gaps")
            }
            return Case(name: name, channels: (0..<channels.count).compactMap { channels[$0] })
        }
    }
}
