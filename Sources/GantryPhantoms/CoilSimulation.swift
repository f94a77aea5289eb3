import Foundation
import GantryCore
import GantryIO
import GantryRecon

/// Simulated multi-coil acquisition of axial slices: a smooth image phase, `coils` birdcage-like
/// receive sensitivities (loops evenly spaced on a ring around the object, magnitude falling off with
/// distance, each with its own phase), normalised so Σ_c |S_c|² = 1, and complex Gaussian noise in
/// k-space. Fully sampled; undersampling belongs to reconstruction.
public struct CoilSimulation: Sendable {
    public var coils: Int
    /// Mean object magnitude ÷ noise standard deviation (per coil, image domain; the orthonormal FFT
    /// keeps the same σ in k-space).
    public var snr: Double
    public var seed: UInt64
    /// Coil geometry (`phantoms/coils.json` holds the defaults).
    public var geometry: CoilGeometry

    public init(coils: Int = 8, snr: Double = 40, seed: UInt64 = 0, geometry: CoilGeometry = .default) {
        self.coils = coils; self.snr = snr; self.seed = seed; self.geometry = geometry
    }

    /// Sensitivity maps for an ny × nx slice: `coils` complex maps, C order [coil, y, x].
    public func sensitivities(ny: Int, nx: Int) -> [Float] { sensitivities(ny: ny, nx: nx, rows: ny, rowOffset: 0) }

    /// Maps over `rows` rows of which rows rowOffset..<rowOffset+ny hold the ny-row slice (a field of
    /// view extended along the readout): the coils stay where they are around the object.
    func sensitivities(ny: Int, nx: Int, rows: Int, rowOffset: Int) -> [Float] {
        var maps = [Float](repeating: 0, count: 2 * coils * rows * nx)
        let ringRadius = geometry.ringRadius, width = geometry.width
        for y in 0..<rows { for x in 0..<nx {
            let (u, v) = (2 * Double(x) / Double(max(1, nx - 1)) - 1, 2 * Double(y - rowOffset) / Double(max(1, ny - 1)) - 1)
            var norm = 0.0
            var vals = [(Double, Double)]()
            for c in 0..<coils {
                let theta = 2 * Double.pi * Double(c) / Double(coils)
                let (px, py) = (ringRadius * cos(theta), ringRadius * sin(theta))
                let d2 = (u - px) * (u - px) + (v - py) * (v - py)
                let mag = 1 / pow(1 + d2 / (width * width), 1.5)
                let phase = theta + geometry.phaseGradient * (u * cos(theta + geometry.phaseRotation) + v * sin(theta + geometry.phaseRotation))
                vals.append((mag * cos(phase), mag * sin(phase)))
                norm += mag * mag
            }
            let s = 1 / norm.squareRoot()
            for c in 0..<coils {
                let o = 2 * ((c * rows + y) * nx + x)
                maps[o] = Float(vals[c].0 * s); maps[o + 1] = Float(vals[c].1 * s)
            }
        } }
        return maps
    }

    /// Simulates k-space for the axial slices `slices` of `image` (magnitude). Returns a fastMRI
    /// layout file: `kspace` [slices, coils, readout, phase], `reconstruction_rss` from the noisy coil
    /// images, `sensitivity_map`, attributes `max`, `norm`, `acquisition`, and an `ismrmrd_header`
    /// with the encoded and recon matrix and field of view. Slice pixel (row, column) is voxel
    /// (x = column, y = row, z): the readout runs along the image's y axis. With
    /// `readoutOversampling` n > 1 the readout field of view is n times the image's (as scanners
    /// acquire brain data: fastMRI's 640 × 320), centred, so a reconstruction removes it by a centre
    /// crop to reconSpace. Consecutive slices also get the image geometry (`KSpaceGeometry`).
    /// `keepMaps: false` leaves out `sensitivity_map` (as real data lack it; it doubles a file).
    public func simulate(_ image: Volume, slices: [Int], acquisition: String, readoutOversampling: Int = 1, keepMaps: Bool = true) throws -> KSpaceFile {
        let s = image.spatialShape
        guard !slices.isEmpty, slices.allSatisfy({ (0..<s[2]).contains($0) }) else {
            throw GantryError.invalidArgument("slices \(slices) outside 0..<\(s[2])")
        }
        guard coils >= 1, snr > 0 else { throw GantryError.invalidArgument("need ≥ 1 coil and a positive SNR") }
        guard (1...4).contains(readoutOversampling) else { throw GantryError.invalidArgument("readout oversampling must be 1…4") }
        let (nx, ny, nc) = (s[0], s[1], coils)
        let rows = ny * readoutOversampling, offset = (rows - ny) / 2
        let maps = sensitivities(ny: ny, nx: nx, rows: rows, rowOffset: offset)
        let plane = nx * ny, kplane = nx * rows
        var kspace = [Float](repeating: 0, count: 2 * slices.count * nc * kplane)
        var rss = [Float](repeating: 0, count: slices.count * plane)
        var allMaps = [Float]()
        if keepMaps { allMaps.reserveCapacity(slices.count * maps.count) }
        let fft = try FFTPlan.plan(shape: [rows, nx], batch: nc)
        var rng = SeededRandom(seed: seed)
        // Noise σ from the mean object magnitude over the chosen slices.
        var sum = 0.0, cnt = 0
        for z in slices { for i in 0..<plane where image.data[z * plane + i] > 0 { sum += Double(image.data[z * plane + i]); cnt += 1 } }
        let sigma = Float((cnt > 0 ? sum / Double(cnt) : 1) / snr)
        for (si, z) in slices.enumerated() {
            // Smooth phase: a random low-order polynomial (as from B0 and receive phase).
            let a = (0..<3).map { _ in rng.uniform(-1, 1) }
            var coilImages = [Float](repeating: 0, count: 2 * nc * kplane)
            for y in 0..<ny { for x in 0..<nx {
                let m = Double(image.data[z * plane + y * nx + x])
                let (u, v) = (2 * Double(x) / Double(max(1, nx - 1)) - 1, 2 * Double(y) / Double(max(1, ny - 1)) - 1)
                let phi = a[0] * u + a[1] * v + a[2] * u * v
                let (re, im) = (m * cos(phi), m * sin(phi))
                for c in 0..<nc {
                    let o = 2 * (c * kplane + (y + offset) * nx + x)
                    let (sr, sIm) = (Double(maps[o]), Double(maps[o + 1]))
                    coilImages[o] = Float(re * sr - im * sIm)
                    coilImages[o + 1] = Float(re * sIm + im * sr)
                }
            } }
            try fft.forward(&coilImages)
            for i in 0..<(2 * nc * kplane) { coilImages[i] += sigma * Float(rng.normal()) }
            kspace.replaceSubrange((2 * si * nc * kplane)..<(2 * (si + 1) * nc * kplane), with: coilImages)
            var img = coilImages
            try fft.inverse(&img)
            for y in 0..<ny { for x in 0..<nx {
                var acc: Float = 0
                for c in 0..<nc { let o = 2 * (c * kplane + (y + offset) * nx + x); acc += img[o] * img[o] + img[o + 1] * img[o + 1] }
                rss[si * plane + y * nx + x] = acc.squareRoot()
            } }
            if keepMaps { allMaps += maps }
        }
        var file = try KSpaceFile(shape: [slices.count, nc, rows, nx], kspace: kspace)
        file.reconstructionRSS = ([slices.count, ny, nx], rss)
        if keepMaps { file.sensitivityMaps = ([slices.count, nc, rows, nx], allMaps) }
        file.max = Double(rss.max() ?? 0)
        file.norm = Double(rss.reduce(0) { $0 + $1 * $1 }).squareRoot()
        file.acquisition = acquisition
        let (dx, dy, dz) = (image.spacing[0], image.spacing[1], image.spacing[2])
        let header = ISMRMRDHeader(encoded: .init(matrix: [rows, nx, 1], fieldOfView: [Double(rows) * dy, Double(nx) * dx, dz]),
                                   recon: .init(matrix: [ny, nx, 1], fieldOfView: [Double(ny) * dy, Double(nx) * dx, dz]), trajectory: "cartesian")
        file.headerXML = header.xml
        file.header = header
        if slices == Array(slices[0]..<(slices[0] + slices.count)) {
            file.geometry = KSpaceGeometry(affine: image.affine, imageShape: s, sliceIndices: slices)
        }
        return file
    }
}

/// Receive-coil geometry in normalised field-of-view units ([-1, 1] across the slice): loops evenly
/// spaced on a ring of `ringRadius`, magnitude 1/(1 + d²/width²)^{3/2} with d the distance to the
/// loop, phase = loop angle + `phaseGradient`·(position · direction rotated by `phaseRotation`).
public struct CoilGeometry: Codable, Equatable, Sendable {
    public var ringRadius: Double
    public var width: Double
    public var phaseGradient: Double
    public var phaseRotation: Double

    public static let `default` = CoilGeometry(ringRadius: 1.25, width: 0.9, phaseGradient: 0.6, phaseRotation: 0.5)
}
