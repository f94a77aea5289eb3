import GantryCore
import GantryIO
import GantryNN

/// One fully sampled multi-coil slice for training or evaluating a learned reconstruction:
/// k-space [coils, ny, nx] and the coil maps it was acquired with (interleaved complex), or none:
/// then each mask's own calibration region gives the maps, as `gantry recon --maps calibration`
/// does at inference, so a model trains on the maps it will be run with.
public struct ReconSample: Sendable {
    public var kspace: [Float]
    public var maps: [Float]?
    public var coils: Int, ny: Int, nx: Int
    /// What the slice shows (contrast name), for reports.
    public var label: String

    public init(kspace: [Float], maps: [Float]?, coils: Int, ny: Int, nx: Int, label: String = "") throws {
        guard kspace.count == 2 * coils * ny * nx, maps == nil || maps?.count == kspace.count else {
            throw GantryError.invalidArgument("a reconstruction sample needs \(coils)×\(ny)×\(nx) complex k-space values and maps")
        }
        self.kspace = kspace; self.maps = maps; self.coils = coils; self.ny = ny; self.nx = nx; self.label = label
    }

    /// Every slice of a fully sampled fastMRI-layout file, with the file's `sensitivity_map`
    /// (`.file`), ESPIRiT maps of the whole data (`.espirit`), or maps from each mask's calibration
    /// region (`.calibration`, and `.file` when the file stores none).
    public static func slices(of file: KSpaceFile, maps source: CoilMaps = .file) throws -> [ReconSample] {
        let coils = file.coils, ny = file.shape[file.shape.count - 2], nx = file.shape[file.shape.count - 1], plane = ny * nx
        let full = [Float](repeating: 1, count: plane)
        return try (0..<file.slices).map { s in
            let range = (2 * s * coils * plane)..<(2 * (s + 1) * coils * plane)
            let k = Array(file.kspace[range])
            let fileMaps = file.sensitivityMaps.map { Array($0.data[range]) }
            let maps: [Float]? = switch source {
            case .file: fileMaps
            case .calibration: nil
            case .espirit: try Reconstructor.coilMaps(k, mask: full, coils: coils, ny: ny, nx: nx, source: .espirit, fileMaps: nil)
            }
            return try ReconSample(kspace: k, maps: maps, coils: coils, ny: ny, nx: nx, label: file.acquisition ?? "")
        }
    }

    /// The undersampled acquisition under `mask`, scaled so its SENSE combination peaks at 1
    /// (the scale every learned model in Gantry is trained and run at), and the matching target:
    /// the SENSE combination of the fully sampled data at the same scale, [1, 2, H, W].
    public func undersampled(_ mask: [Float]) throws -> (acquisition: LearnedAcquisition, target: Tensor) {
        let maps = try self.maps ?? Reconstructor.coilMaps(kspace, mask: mask, coils: coils, ny: ny, nx: nx, source: .calibration, fileMaps: nil)
        let acq = try LearnedAcquisition(kspace: kspace, mask: mask, maps: maps, coils: coils, ny: ny, nx: nx)
        let full = try SenseOperator(maps: maps, mask: [Float](repeating: 1, count: ny * nx), coils: coils, ny: ny, nx: nx)
        let x = try full.adjoint(kspace).map { $0 / acq.scale }
        return (acq, try Tensor.fromComplex(x, n: 1, h: ny, w: nx))
    }
}

/// A masked acquisition ready for a learned model: operator, masked k-space divided by `scale`
/// (the peak magnitude of its SENSE combination), so a model sees data at one intensity level.
public struct LearnedAcquisition {
    public let op: SenseOperator
    public let kspace: [Float]
    public let scale: Float

    public init(kspace k: [Float], mask: [Float], maps: [Float], coils: Int, ny: Int, nx: Int) throws {
        op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        let plane = ny * nx
        var masked = k
        for c in 0..<coils { for p in 0..<plane where mask[p] == 0 { masked[2 * (c * plane + p)] = 0; masked[2 * (c * plane + p) + 1] = 0 } }
        let peak = max(ComplexBuffer.magnitude(try op.adjoint(masked)).max() ?? 0, 1e-12)
        scale = peak
        kspace = masked.map { $0 / peak }
    }

    /// Hard data consistency: the estimate x (complex, [ny, nx], at this acquisition's
    /// scale) spread over the coils (S·x), its k-space replaced by the measured samples where the
    /// mask has them, and the coil images combined by root-sum-of-squares — the fully sampled
    /// reference's own combination, which it equals when nothing is missing.
    /// `x` is interleaved complex, as SENSE images are (the network's channels: `Tensor.toComplex`).
    public func dataConsistentMagnitude(_ x: [Float]) throws -> [Float] {
        let (coils, ny, nx) = (op.coils, op.ny, op.nx), plane = ny * nx
        guard x.count == 2 * plane else { throw GantryError.invalidArgument("estimate needs \(ny)×\(nx) complex values, got \(x.count / 2)") }
        var k = try CoilSensitivityOperator(maps: op.maps, coils: coils, ny: ny, nx: nx).forward(x)
        let fft = try FFTPlan.plan(shape: [ny, nx], batch: coils)
        try fft.forward(&k)
        for c in 0..<coils {
            for p in 0..<plane where op.mask[p] != 0 {
                let o = 2 * (c * plane + p)
                k[o] = kspace[o]; k[o + 1] = kspace[o + 1]
            }
        }
        try fft.inverse(&k)
        return ComplexBuffer.rss(k, coils: coils, pixels: plane)
    }

    public static func batch(_ items: [LearnedAcquisition]) throws -> SenseBatch {
        try SenseBatch(operators: items.map(\.op), kspace: items.map(\.kspace))
    }
}
