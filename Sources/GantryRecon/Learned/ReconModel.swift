import Foundation
import GantryCore
import GantryIO
import GantryNN

/// A trained RIM/CIRIM in one safetensors file: weights under atommic's state-dict names, metadata
/// `gantry_model` = "CIRIM", `config` = the atommic-style configuration (JSON), and training notes.
/// A checkpoint exported from atommic loads when its config is supplied (`load(config:)`).
public final class ReconModel: @unchecked Sendable {
    public let network: CIRIM
    public var metadata: [String: String]

    public init(network: CIRIM, metadata: [String: String] = [:]) {
        self.network = network; self.metadata = metadata
    }

    public static func load(_ path: String, config override: RIMConfiguration? = nil) throws -> ReconModel {
        let (tensors, meta) = try SafeTensors.readWithMetadata(path)
        var cfg: RIMConfiguration
        if let override { cfg = override } else {
            guard meta["gantry_model"] == "CIRIM", let text = meta["config"] else {
                throw GantryError.invalidFile(path: path, problem: "not a Gantry RIM/CIRIM checkpoint (needs gantry_model=CIRIM and config metadata)")
            }
            do { cfg = try JSONDecoder().decode(RIMConfiguration.self, from: Data(text.utf8)) }
            catch { throw GantryError.invalidFile(path: path, problem: "unreadable RIM configuration (\(error))") }
        }
        let net: CIRIM
        do { net = try CIRIM(config: cfg) } catch { throw GantryError.invalidFile(path: path, problem: "\(error)") }
        try net.parameters.load(tensors, path: path)
        return ReconModel(network: net, metadata: meta)
    }

    public func save(_ path: String, extraMetadata: [String: String] = [:]) throws {
        let cfg = String(decoding: try JSONEncoder.sorted.encode(network.config), as: UTF8.self)
        let meta = metadata.merging(extraMetadata) { _, new in new }
            .merging(["gantry_model": "CIRIM", "config": cfg, "format": "pt"]) { _, own in own }
        try SafeTensors.write(network.parameters.stateDict, to: path, metadata: meta)
    }

    /// Reconstructs acquisitions in batches of `batchSize`: magnitude images at the data's scale.
    /// `dataConsistent`: the estimate's k-space keeps the measured samples (LearnedAcquisition.dataConsistentMagnitude).
    public func reconstruct(_ items: [LearnedAcquisition], batchSize: Int = 4, dataConsistent: Bool = false,
                            progress: (Int) -> Void = { _ in }) throws -> [[Float]] {
        var out: [[Float]] = []
        for start in stride(from: 0, to: items.count, by: max(1, batchSize)) {
            let chunk = Array(items[start..<min(items.count, start + max(1, batchSize))])
            let x = try network.reconstruct(try LearnedAcquisition.batch(chunk))
            if dataConsistent {
                let complex = try x.toComplex(), values = complex.count / chunk.count
                for (i, a) in chunk.enumerated() {
                    out.append(try a.dataConsistentMagnitude(Array(complex[(i * values)..<((i + 1) * values)])).map { $0 * a.scale })
                }
            } else {
                let mag = try x.complexMagnitude().data
                let plane = mag.count / chunk.count
                for (i, a) in chunk.enumerated() { out.append(mag[(i * plane)..<((i + 1) * plane)].map { $0 * a.scale }) }
            }
            progress(out.count)
        }
        return out
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return e }
}
