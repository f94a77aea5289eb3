import Foundation

/// Every output file under `dir` with its bytes: what must be identical between two runs of one plan
/// (provenance records, run state and lock files aside — they hold times, hosts and pids; text files
/// naming OUT have it replaced by "OUT").
public func outputSnapshot(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for f in (FileManager.default.subpaths(atPath: dir) ?? []).sorted()
    where !f.hasSuffix("provenance.json") && !f.hasPrefix("reports/.gantry/") && !f.hasPrefix(".gantry/") && !f.hasSuffix(".lock") {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))
            let text = String(data: bytes, encoding: .utf8)
            out[f] = text.map { Data($0.replacingOccurrences(of: dir, with: "OUT")
                .replacingOccurrences(of: dir.replacingOccurrences(of: "/", with: "\\/"), with: "OUT").utf8) } ?? bytes
        }
    }
    return out
}
