import Foundation
import GantryCore
import GantryIO
import GantryNN

/// A trained segmentation model with its architecture and preprocessing, stored as one safetensors
/// file: tensors under PyTorch/MONAI state-dict names; metadata `gantry_model` (architecture),
/// `config` (JSON), `contrasts`, `labels`, `spacing_mm`, the voxel size it was trained at, and
/// `intensity_range`, the span of the training subjects' intensity profiles, and `normalisation`,
/// which voxels the z-score is taken over (absent: `nonzero`, the rule the first checkpoints used),
/// and `min_component_mm3`, the clean-up chosen after training (absent: none).
public struct SegmentationModel {
    public var network: any SegmentationNetwork
    public var contrasts: [String]
    public var labels: [Int]
    public var roi: [Int]
    /// Voxel size (mm) of the training images; inputs at another size are resampled to it and the
    /// result back (nil for checkpoints that do not say: inputs are taken as they are).
    public var spacing: [Double]? = nil
    /// What the training inputs looked like (nil for checkpoints that do not say: nothing is flagged).
    public var intensityRange: IntensityRange? = nil
    /// How inputs are normalised, as the training images were.
    public var normalisation = IntensityNormalisation.nonZero
    /// Lesions smaller than this (mm³, connected components of the whole mask) are removed after the
    /// argmax — nnU-Net's way: post-processing chosen on validation cases after training.
    public var minimumComponentMM3: Double? = nil
    /// Relative voxel-size difference below which inputs are used as they are.
    public static let spacingTolerance = 0.05
    /// Largest sliding-window side a checkpoint may ask for (the shipped models use 48–64; MONAI's
    /// BraTS bundles 96–128).
    public static let maxWindow = 256

    public static func load(_ path: String) throws -> SegmentationModel {
        let (tensors, meta) = try SafeTensors.readWithMetadata(path)
        guard let name = meta["gantry_model"], let cfgText = meta["config"],
              let cfg = try? JSONSerialization.jsonObject(with: Data(cfgText.utf8)) as? [String: Any] else {
            throw GantryError.invalidFile(path: path, problem: "not a Gantry segmentation checkpoint (needs gantry_model and config metadata)")
        }
        guard let architecture = SegmentationArchitecture(rawValue: name) else {
            throw GantryError.invalidFile(path: path, problem: "unknown architecture '\(name)' (known: \(SegmentationArchitecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let net: any SegmentationNetwork
        // The window is checked first: it sizes every activation of inference.
        let roi = (cfg["roi"] as? [Int]) ?? [64, 64, 64]
        guard roi.count == 3, roi.allSatisfy({ (1...maxWindow).contains($0) }) else {
            throw GantryError.invalidFile(path: path, problem: "roi \(roi) must be three sizes of 1…\(maxWindow) voxels")
        }
        do { net = try architecture.make(config: cfg, availableParameters: tensors.values.reduce(0) { $0 + $1.count }) }
        catch { throw GantryError.invalidFile(path: path, problem: "\(error)") }
        try net.parameters.load(tensors, path: path)
        let contrasts = (meta["contrasts"] ?? "").split(separator: ",").map(String.init)
        let labels = (meta["labels"] ?? "").split(separator: ",").compactMap { Int($0) }
        var spacing: [Double]? = nil
        if let text = meta["spacing_mm"] {
            let s = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard s.count == 3, s.allSatisfy({ $0.isFinite && $0 > 0.05 && $0 < 50 }) else {
                throw GantryError.invalidFile(path: path, problem: "spacing_mm '\(text)' must be three voxel sizes in mm")
            }
            spacing = s
        }
        let range = try meta["intensity_range"].map { try IntensityRange.fromMetadata($0, path: path) }
        var normalisation = IntensityNormalisation.nonZero
        if let n = meta["normalisation"] {
            guard let known = IntensityNormalisation(rawValue: n) else {
                throw GantryError.invalidFile(path: path, problem: "normalisation '\(n)' is not one of \(IntensityNormalisation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            normalisation = known
        }
        var minimum: Double? = nil
        if let text = meta["min_component_mm3"] {
            guard let v = Double(text), v.isFinite, v >= 0 else { throw GantryError.invalidFile(path: path, problem: "min_component_mm3 '\(text)' must be a volume ≥ 0") }
            minimum = v
        }
        return SegmentationModel(network: net, contrasts: contrasts, labels: labels, roi: roi, spacing: spacing, intensityRange: range,
                                 normalisation: normalisation, minimumComponentMM3: minimum)
    }

    /// Reads the contrasts to segment, each under Gantry's rule for non-finite voxels (set to 0 and
    /// counted, `Volume.replacingNonFinite`; a contrast with no finite voxel is refused): the volumes
    /// and one warning line per contrast that had any.
    public static func readInputs(_ paths: [String]) throws -> (images: [Volume], warnings: [String]) {
        var images: [Volume] = [], warnings: [String] = []
        for p in paths {
            let (v, replaced) = try VolumeFile.read(p).replacingNonFinite(source: p)
            if replaced > 0 { warnings.append("warning: \(p): \(replaced) non-finite voxel(s) set to 0") }
            images.append(v)
        }
        return (images, warnings)
    }

    /// Writes the checkpoint; `extraMetadata` (e.g. the training epoch) is stored beside the
    /// architecture, configuration, contrasts and labels.
    public func save(_ path: String, extraMetadata: [String: String] = [:]) throws {
        var cfg = network.checkpointConfig
        cfg["roi"] = roi
        let cfgText = String(decoding: try JSONSerialization.data(withJSONObject: cfg, options: [.sortedKeys]), as: UTF8.self)
        var own: [String: String] = [
            "gantry_model": type(of: network).architecture, "config": cfgText, "contrasts": contrasts.joined(separator: ","),
            "labels": labels.map(String.init).joined(separator: ","), "format": "pt", "normalisation": normalisation.rawValue,
        ]
        if let spacing { own["spacing_mm"] = spacing.map { String($0) }.joined(separator: ",") }
        if let intensityRange { own["intensity_range"] = try intensityRange.metadataValue }
        if let minimumComponentMM3 { own["min_component_mm3"] = String(minimumComponentMM3) }
        let meta = extraMetadata.merging(own) { _, own in own }
        try SafeTensors.write(network.parameters.stateDict, to: path, metadata: meta)
    }

    /// The inputs as the network reads them, made once for the warnings and the sliding window:
    /// checked, brought to the training voxel size when theirs differs, normalised as the training
    /// images were.
    public struct PreparedInputs {
        /// The first input as given: the grid, affine and header of every output.
        public let grid: Volume
        /// The raw inputs' pairwise sameness (for the duplicate-contrast warning).
        let sameAs: [Int]
        /// Spatial shape [x, y, z], affine and header of the grid the network runs on.
        let shape: [Int], affine: Affine, header: StoredHeader?
        /// The normalised channels, one after another (the network's input tensor as it is).
        let channels: [Float]
        /// The inputs' intensity profile on their own grid (nil when the checkpoint records no range).
        let profile: IntensityProfile?
        let resampled: Bool
    }

    public func prepare(_ images: [Volume]) throws -> PreparedInputs {
        guard images.count == network.inChannels else {
            throw GantryError.invalidArgument("the model takes \(network.inChannels) contrasts (\(contrasts.joined(separator: ", "))), got \(images.count)")
        }
        let grid = images[0]
        for v in images where v.data.count != v.spatialCount {
            throw GantryError.invalidArgument("inputs must be 3D volumes (got shape \(v.shape))")
        }
        for v in images.dropFirst() where v.spatialShape != grid.spatialShape || v.affine.maxDifference(grid.affine) > 1e-3 {
            throw GantryError.invalidArgument("all contrasts must share one grid (resample them first)")
        }
        let sameAs = images.indices.map { i in images.indices.first { images[$0].data == images[i].data } ?? i }
        // At another voxel size than the training images': segment at the training size (inputs
        // trilinear); `probabilities` brings the result back onto the input grid.
        var onNetworkGrid = images, resampled = false
        if let s = spacing, zip(grid.spacing, s).contains(where: { abs($0 - $1) > Self.spacingTolerance * $1 }) {
            onNetworkGrid = try images.map { try $0.resampled(toSpacing: s, interpolation: .linear) }
            resampled = true
        }
        let first = onNetworkGrid[0], n = first.spatialCount
        var channels = [Float]()
        channels.reserveCapacity(images.count * n)
        for v in onNetworkGrid { channels += normalisation(v.data) }
        // The profile is the inputs' as given (the training range was measured on images at their own size).
        let profile = intensityRange == nil ? nil : IntensityProfile(normalised: resampled
            ? images.map { normalisation($0.data) } : images.indices.map { Array(channels[($0 * n)..<(($0 + 1) * n)]) })
        return PreparedInputs(grid: grid, sameAs: sameAs, shape: first.spatialShape, affine: first.affine, header: first.header, channels: channels, profile: profile, resampled: resampled)
    }

    /// The warnings `gantry segment` and the pipeline print before segmenting: the same image given
    /// for several contrasts, and an intensity profile unlike the training subjects'.
    public func inputWarnings(_ inputs: PreparedInputs) -> [String] {
        [duplicateContrastWarning(inputs), intensityWarning(inputs)].compactMap { $0 }
    }

    /// One line when two or more inputs are the same image (a T1 given for every contrast): the
    /// network reads lesions from how the contrasts differ, so its answer then means little.
    public func duplicateContrastWarning(_ inputs: PreparedInputs) -> String? {
        let groups = Dictionary(grouping: inputs.sameAs.indices, by: { inputs.sameAs[$0] }).values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
        guard !groups.isEmpty else { return nil }
        let name = { (i: Int) in contrasts.indices.contains(i) ? contrasts[i] : "input \(i + 1)" }
        return "warning: the same image is given for " + groups.map { $0.map(name).joined(separator: ", ") }.joined(separator: "; ")
            + " — the model needs each contrast; lesions it finds are not to be trusted"
    }

    /// One warning line when the inputs' intensity profile lies outside the training subjects'
    /// (nil when it does not, or when the checkpoint records no range). The segmentation still runs:
    /// the line says how far to trust it.
    public func intensityWarning(_ inputs: PreparedInputs) -> String? {
        guard let range = intensityRange, let profile = inputs.profile else { return nil }
        let out = range.outliers(of: profile, contrasts: contrasts)
        guard !out.isEmpty else { return nil }
        return "warning: inputs unlike the \(range.subjects) training subjects — the segmentation may be unreliable: " + out.prefix(4).joined(separator: "; ")
            + (out.count > 4 ? "; and \(out.count - 4) more" : "")
    }

    /// Class probabilities of co-registered contrasts (same grid): z-score per channel, sliding
    /// window, softmax → a 4D volume [x, y, z, class] on the first input's grid (affine and header
    /// kept), as MONAI's inference writes before `AsDiscrete(argmax)`.
    public func probabilities(_ images: [Volume], overlap: Double = 0.5, progress: (Int, Int) -> Void = { _, _ in }) throws -> Volume {
        try probabilities(prepare(images), overlap: overlap, progress: progress)
    }

    public func probabilities(_ inputs: PreparedInputs, overlap: Double = 0.5, progress: (Int, Int) -> Void = { _, _ in }) throws -> Volume {
        let s = inputs.shape, k = network.outChannels
        let x = Tensor(shape: [1, network.inChannels, s[2], s[1], s[0]], data: inputs.channels)
        let prob = try SlidingWindow(roi: roi, overlap: overlap).run(x, classes: k, progress: progress) { try network.forward($0, training: false).softmaxChannels() }
        let grid = inputs.grid
        let onNetworkGrid = try Volume(shape: s + [k], affine: inputs.affine, data: prob.data, extraSpacing: [1], header: inputs.header)
        guard inputs.resampled else { return onNetworkGrid }
        // back onto the input grid (trilinear keeps the probabilities summing to 1), where the argmax is taken
        let back = try onNetworkGrid.resampled(toShape: grid.spatialShape, affine: grid.affine, interpolation: .linear)
        return try Volume(shape: back.shape, affine: grid.affine, data: back.data, extraSpacing: [1], header: grid.header)
    }

    /// Segments co-registered contrasts: `probabilities`, then argmax → label map (the checkpoint's
    /// label values) on the first input's grid.
    public func segment(_ images: [Volume], overlap: Double = 0.5) throws -> Volume {
        try labelMap(from: probabilities(images, overlap: overlap))
    }

    /// Argmax over the class axis of a [x, y, z, class] probability volume → label values, then the
    /// checkpoint's clean-up (`minimumComponentMM3`).
    public func labelMap(from prob: Volume) throws -> Volume {
        let s = prob.spatialShape, inner = prob.spatialCount, k = prob.data.count / max(inner, 1)
        var labelsOut = [Float](repeating: 0, count: inner)
        for i in 0..<inner {
            var best = 0
            for c in 1..<max(k, 1) where prob.data[c * inner + i] > prob.data[best * inner + i] { best = c }
            labelsOut[i] = Float(labels.indices.contains(best) ? labels[best] : best)
        }
        let map = try Volume(shape: s, affine: prob.affine, data: labelsOut, header: prob.header)
        guard let minimum = minimumComponentMM3, minimum > 0 else { return map }
        return try map.removingSmallComponents(minimumMM3: minimum)
    }
}
