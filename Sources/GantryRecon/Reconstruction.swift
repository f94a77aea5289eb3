import Foundation
import GantryCore
import GantryIO

/// Classical reconstructions of multi-coil (or single-coil) fastMRI-layout k-space.
public enum ReconMethod: String, CaseIterable, Sendable {
    /// Root-sum-of-squares of the zero-filled coil images (fastMRI's baseline).
    case zeroFilled = "zf"
    /// SENSE: conjugate gradient on the normal equations with Tikhonov regularisation.
    case sense
    /// Compressed sensing, ℓ1 on Daubechies-4 wavelets with cycle spinning, solved by FISTA.
    case csL1 = "cs-l1"
    /// Compressed sensing, isotropic total variation, solved by primal–dual (Chambolle–Pock).
    case csTV = "cs-tv"
    /// Recurrent inference machine: a trained one-cascade checkpoint (`ReconOptions.model`).
    case rim
    /// Cascades of independently recurrent inference machines: a trained checkpoint.
    case cirim

    /// Needs a trained model.
    public var isLearned: Bool { self == .rim || self == .cirim }

    /// λ when none is given, relative to the zero-filled image's maximum (data are scaled to it, so
    /// one value means the same on every input); docs/recon.md's tables use these.
    public var defaultLambda: Float {
        switch self {
        case .sense, .csL1: 0.01
        case .csTV: 0.005
        case .zeroFilled, .rim, .cirim: 0
        }
    }

    /// Iterations when none are given (CG converges in tens; FISTA and primal–dual need more).
    public var defaultIterations: Int {
        switch self {
        case .sense: 30
        case .csL1: 50
        case .csTV: 100
        case .zeroFilled, .rim, .cirim: 0
        }
    }
}

/// Coil sensitivity sources for SENSE and CS. On the phantoms all three give the same quality
/// (within 0.1 dB); the calibration estimate is the default because it is ~5× faster than ESPIRiT.
public enum CoilMaps: String, CaseIterable, Sendable {
    /// ESPIRiT from the calibration region (as BART `ecalib -m 1`).
    case espirit
    /// Low-resolution calibration images divided by their RSS (DIRECT/atommic's quick estimate).
    case calibration
    /// The file's `sensitivity_map` dataset.
    case file
}

public struct ReconOptions: Sendable {
    public var method: ReconMethod = .zeroFilled
    /// Retrospective undersampling of fully sampled data; nil uses the file's `mask` (or all data).
    public var mask: SamplingMask? = nil
    public var lambda: Float? = nil
    public var iterations: Int? = nil
    /// Where coil sensitivities come from.
    public var maps: CoilMaps = .calibration
    /// The trained RIM/CIRIM for `.rim`/`.cirim`.
    public var model: ReconModel? = nil
    /// Slices per network call for learned methods.
    public var batchSize = 4
    /// Learned methods: the estimate's k-space keeps the measured samples, coils combined by RSS
    /// (hard data consistency; off gives atommic's output unchanged).
    public var dataConsistency = false

    /// Use the file's `sensitivity_map` (kept for callers that only toggle this).
    public var mapsFromFile: Bool {
        get { maps == .file }
        set { maps = newValue ? .file : .calibration }
    }

    public init(method: ReconMethod = .zeroFilled, mask: SamplingMask? = nil, lambda: Float? = nil, iterations: Int? = nil, mapsFromFile: Bool = false, maps: CoilMaps? = nil) {
        self.method = method; self.mask = mask; self.lambda = lambda; self.iterations = iterations
        self.maps = maps ?? (mapsFromFile ? .file : .calibration)
    }

    /// λ relative to the maximum of the zero-filled image: the given one or the method's default.
    public var effectiveLambda: Float { lambda ?? method.defaultLambda }

    public var effectiveIterations: Int { iterations ?? method.defaultIterations }
}

/// A reconstructed stack: magnitude images [slices][ny·nx] and the mask used.
public struct ReconResult: Sendable {
    public var images: [Float]
    public var slices: Int
    public var ny: Int
    public var nx: Int
    public var mask: [Float]
    /// Voxel size (x = phase-encode column, y = readout row, slice) in mm: from the acquisition's
    /// header when the file has one, else 1 mm.
    public var spacing: [Double] = [1, 1, 1]
    /// Where the slices sit in the subject's image space, when the file says.
    public var geometry: KSpaceGeometry?
    public var acceleration: Double { Double(mask.count) / Double(max(1, mask.reduce(0) { $0 + ($1 > 0 ? 1 : 0) })) }

    /// As a volume: voxel (x, y, slice) = (phase encode, readout, slice). On the subject's image grid
    /// when the file carries its geometry (phantom studies); otherwise — fastMRI records no patient
    /// position — the affine is a plain scaling: axes taken as RAS-aligned, origin at the first voxel.
    public func volume() throws -> Volume {
        if let geometry { return try geometry.volume(images: images, rows: ny, columns: nx) }
        return try Volume(shape: [nx, ny, slices], affine: .scaling(spacing), data: images)
    }

    /// The centre `rows` × `columns` of every image (fastMRI's `center_crop`: the start is
    /// ⌊(size − crop)/2⌋); sizes already smaller are kept.
    public func centreCropped(rows: Int, columns: Int) -> ReconResult {
        let h = min(rows, ny), w = min(columns, nx)
        guard h < ny || w < nx else { return self }
        let r0 = (ny - h) / 2, c0 = (nx - w) / 2
        var out = [Float](repeating: 0, count: slices * h * w)
        for s in 0..<slices { for r in 0..<h { for c in 0..<w { out[(s * h + r) * w + c] = images[(s * ny + r0 + r) * nx + c0 + c] } } }
        var cropped = self
        cropped.images = out; cropped.ny = h; cropped.nx = w
        return cropped
    }
}

public enum Reconstructor {
    public static func run(_ file: KSpaceFile, options: ReconOptions, progress: @escaping @Sendable (Int) -> Void = { _ in }) throws -> ReconResult {
        let file = try file.removingReadoutOversampling() ?? file
        let plane = file.shape[file.shape.count - 2] * file.shape[file.shape.count - 1]
        let mask = try samplingMask(file, options: options)
        if options.mapsFromFile && file.sensitivityMaps == nil {
            throw GantryError.invalidArgument("the file has no sensitivity_map; estimate maps from the calibration region instead")
        }
        try checkInputs(file, mask: mask)
        if file.masksDifferBetweenSlices && options.method != .zeroFilled && options.mask == nil {
            throw GantryError.invalidArgument("the file's volumes sample different phase-encode lines (interleaved repetitions); \(options.method.rawValue) needs one mask per file — use zf, or --accel to undersample again")
        }
        var result = options.method.isLearned ? try runLearned(file, mask: mask, options: options, progress: progress)
                                              : try runClassical(file, mask: mask, options: options, progress: progress)
        if let h = file.header {
            // Readout oversampling removed after the inverse FFT, to reconSpace (as fastMRI does),
            // and the voxel size from the header: reconSpace FOV / matrix, encoded z FOV per slice.
            result = result.centreCropped(rows: h.recon.matrix[0], columns: h.recon.matrix[1])
            let rowMM = h.recon.fieldOfView[0] / Double(h.recon.matrix[0]), colMM = h.recon.fieldOfView[1] / Double(h.recon.matrix[1])
            result.spacing = [colMM, rowMM, h.encoded.fieldOfView[2] > 0 ? h.encoded.fieldOfView[2] : 1]
        }
        result.geometry = file.geometry
        if let bad = result.images.firstIndex(where: { !$0.isFinite }) {
            throw GantryError.invalidArgument("\(options.method.rawValue) produced a non-finite value (slice \(bad / max(1, plane) + 1)); nothing written")
        }
        return result
    }

    /// What makes a reconstruction meaningless is refused up front: non-finite k-space (a damaged
    /// file; no rule could say what the missing samples were) and a mask that samples nothing.
    static func checkInputs(_ file: KSpaceFile, mask: [Float]) throws {
        var bad = 0
        for i in stride(from: 0, to: file.kspace.count, by: 2) where !(file.kspace[i].isFinite && file.kspace[i + 1].isFinite) { bad += 1 }
        if bad > 0 {
            throw GantryError.invalidArgument("kspace holds \(bad) non-finite samples (NaN or Inf) of \(file.kspace.count / 2); refusing to reconstruct")
        }
        if !mask.contains(where: { $0 > 0 }) {
            throw GantryError.invalidArgument("the sampling mask selects no k-space sample")
        }
    }

    static func runClassical(_ file: KSpaceFile, mask: [Float], options: ReconOptions, progress: @escaping @Sendable (Int) -> Void) throws -> ReconResult {
        let coils = file.coils, slices = file.slices
        let ny = file.shape[file.shape.count - 2], nx = file.shape[file.shape.count - 1]
        let plane = ny * nx
        var images = [Float](repeating: 0, count: slices * plane)
        var failure: Error? = nil
        let lock = NSLock()
        images.withUnsafeMutableBufferPointer { out in
            let outp = out.baseAddress!
            Parallel.forEach(slices) { s in
                do {
                    var k = Array(file.kspace[(2 * s * coils * plane)..<(2 * (s + 1) * coils * plane)])
                    for c in 0..<coils { for p in 0..<plane where mask[p] == 0 { k[2 * (c * plane + p)] = 0; k[2 * (c * plane + p) + 1] = 0 } }
                    let img = try reconstructSlice(k, mask: mask, coils: coils, ny: ny, nx: nx, options: options,
                                                   fileMaps: file.sensitivityMaps.map { Array($0.data[(2 * s * coils * plane)..<(2 * (s + 1) * coils * plane)]) })
                    for p in 0..<plane { outp[s * plane + p] = img[p] }
                    progress(s)
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
            }
        }
        if let failure { throw failure }
        return ReconResult(images: images, slices: slices, ny: ny, nx: nx, mask: mask)
    }

    /// The mask for `file`: retrospective (options.mask), from the file (1D over kx or full 2D), or
    /// everything.
    public static func samplingMask(_ file: KSpaceFile, options: ReconOptions) throws -> [Float] {
        let ny = file.shape[file.shape.count - 2], nx = file.shape[file.shape.count - 1], plane = ny * nx
        var mask = [Float](repeating: 1, count: plane)
        if let m = options.mask {
            mask = try m.make(ny: ny, nx: nx)
        } else if let fm = file.mask {
            if fm.data.count == nx { for y in 0..<ny { for x in 0..<nx { mask[y * nx + x] = fm.data[x] > 0 ? 1 : 0 } } }
            else if fm.data.count == plane { mask = fm.data.map { $0 > 0 ? 1 : 0 } }
            else { throw GantryError.invalidArgument("mask has \(fm.data.count) values; expected \(nx) or \(plane)") }
        }
        return mask
    }

    /// Coil maps for one masked slice from the chosen source (one coil: all ones).
    static func coilMaps(_ k: [Float], mask: [Float], coils: Int, ny: Int, nx: Int, source: CoilMaps, fileMaps: [Float]?) throws -> [Float] {
        if coils == 1 { return (0..<(ny * nx)).flatMap { _ in [Float(1), 0] } }
        switch source {
        case .file:
            guard let m = fileMaps else { throw GantryError.invalidArgument("no sensitivity maps in the file") }
            return m
        case .calibration: return try CoilSensitivity.fromCalibration(kspace: k, mask: mask, coils: coils, ny: ny, nx: nx)
        case .espirit: return try ESPIRiT.maps(kspace: k, mask: mask, coils: coils, ny: ny, nx: nx).maps
        }
    }

    /// RIM/CIRIM: every slice masked, its maps found, scaled, and run through the model in batches.
    static func runLearned(_ file: KSpaceFile, mask: [Float], options: ReconOptions, progress: @escaping @Sendable (Int) -> Void) throws -> ReconResult {
        guard let model = options.model else { throw GantryError.invalidArgument("\(options.method.rawValue) needs a trained model (--model)") }
        let cascades = model.network.config.numCascades
        if options.method == .rim && cascades != 1 {
            throw GantryError.invalidArgument("the model has \(cascades) cascades — a CIRIM; use --method cirim")
        }
        let coils = file.coils, slices = file.slices
        let ny = file.shape[file.shape.count - 2], nx = file.shape[file.shape.count - 1], plane = ny * nx
        var items: [LearnedAcquisition] = []
        for s in 0..<slices {
            let k = Array(file.kspace[(2 * s * coils * plane)..<(2 * (s + 1) * coils * plane)])
            let fileMaps = file.sensitivityMaps.map { Array($0.data[(2 * s * coils * plane)..<(2 * (s + 1) * coils * plane)]) }
            var masked = k
            for c in 0..<coils { for p in 0..<plane where mask[p] == 0 { masked[2 * (c * plane + p)] = 0; masked[2 * (c * plane + p) + 1] = 0 } }
            let maps = try coilMaps(masked, mask: mask, coils: coils, ny: ny, nx: nx, source: options.maps, fileMaps: fileMaps)
            items.append(try LearnedAcquisition(kspace: masked, mask: mask, maps: maps, coils: coils, ny: ny, nx: nx))
        }
        let images = try model.reconstruct(items, batchSize: options.batchSize, dataConsistent: options.dataConsistency) { done in progress(done - 1) }
        return ReconResult(images: images.flatMap { $0 }, slices: slices, ny: ny, nx: nx, mask: mask)
    }

    /// One slice: k-space [coils, ny, nx] already masked → magnitude image [ny, nx].
    public static func reconstructSlice(_ k: [Float], mask: [Float], coils: Int, ny: Int, nx: Int, options: ReconOptions, fileMaps: [Float]? = nil) throws -> [Float] {
        let plane = ny * nx
        var coilImages = k
        try FFTPlan.plan(shape: [ny, nx], batch: coils).inverse(&coilImages)
        let zf = ComplexBuffer.rss(coilImages, coils: coils, pixels: plane)
        if options.method == .zeroFilled { return zf }
        let maps = try coilMaps(k, mask: mask, coils: coils, ny: ny, nx: nx, source: options.maps, fileMaps: fileMaps)
        let op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        // Scale data so the zero-filled image peaks at 1: λ then means the same on every input.
        let scale = max(zf.max() ?? 1, 1e-12)
        let y = k.map { $0 / scale }
        let lambda = options.effectiveLambda, iterations = options.effectiveIterations
        let x: [Float]
        switch options.method {
        case .zeroFilled: x = []
        case .rim, .cirim: throw GantryError.invalidArgument("\(options.method.rawValue) runs whole files (Reconstructor.run) with a model")
        case .sense: x = try Solvers.cgSENSE(op, data: y, lambda: lambda, iterations: iterations)
        case .csL1:
            var wavelets = WaveletThreshold(try WaveletSparsity(ny: ny, nx: nx), lambda: lambda)
            x = try Solvers.fista(op, data: y, regulariser: &wavelets, iterations: iterations)
        case .csTV:
            var tv = GroupBallProjection(radius: lambda, groupSize: 4)
            x = try Solvers.primalDual(op, data: y, analysis: FiniteDifference2D(ny: ny, nx: nx), dual: &tv, iterations: iterations)
        }
        return ComplexBuffer.magnitude(x).map { $0 * scale }
    }
}
