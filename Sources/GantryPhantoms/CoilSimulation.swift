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
    public func sensitivities(ny: Int, nx: Int) -> [Float] {
        var maps = [Float](repeating: 0, count: 2 * coils * ny * nx)
        let ringRadius = geometry.ringRadius, width = geometry.width
        for y in 0..<ny { for x in 0..<nx {
            let (u, v) = (2 * Double(x) / Double(nx - 1) - 1, 2 * Double(y) / Double(ny - 1) - 1)
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
                let o = 2 * ((c * ny + y) * nx + x)
                maps[o] = Float(vals[c].0 * s); maps[o + 1] = Float(vals[c].1 * s)
            }
        } }
        return maps
    }

    /// Simulates k-space for the axial slices `slices` of `image` (magnitude). Returns a fastMRI
    /// layout file: `kspace` [slices, coils, ny, nx], `reconstruction_rss` from the noisy coil images,
    /// `sensitivity_map`, attributes `max`, `norm`, `acquisition`. Slice pixel (y, x) is voxel (x, y, z).
    public func simulate(_ image: Volume, slices: [Int], acquisition: String) throws -> KSpaceFile {
        let s = image.spatialShape
        guard !slices.isEmpty, slices.allSatisfy({ (0..<s[2]).contains($0) }) else {
            throw GantryError.invalidArgument("slices \(slices) outside 0..<\(s[2])")
        }
        guard coils >= 1, snr > 0 else { throw GantryError.invalidArgument("need ≥ 1 coil and a positive SNR") }
        let (nx, ny, nc) = (s[0], s[1], coils)
        let maps = sensitivities(ny: ny, nx: nx)
        let plane = nx * ny
        var kspace = [Float](repeating: 0, count: 2 * slices.count * nc * plane)
        var rss = [Float](repeating: 0, count: slices.count * plane)
        var allMaps = [Float]()
        let fft = try FFTPlan.plan(shape: [ny, nx], batch: nc)
        var rng = SeededRandom(seed: seed)
        // Noise σ from the mean object magnitude over the chosen slices.
        var sum = 0.0, cnt = 0
        for z in slices { for i in 0..<plane where image.data[z * plane + i] > 0 { sum += Double(image.data[z * plane + i]); cnt += 1 } }
        let sigma = Float((cnt > 0 ? sum / Double(cnt) : 1) / snr)
        for (si, z) in slices.enumerated() {
            // Smooth phase: a random low-order polynomial (as from B0 and receive phase).
            let a = (0..<3).map { _ in rng.uniform(-1, 1) }
            var coilImages = [Float](repeating: 0, count: 2 * nc * plane)
            for y in 0..<ny { for x in 0..<nx {
                let m = Double(image.data[z * plane + y * nx + x])
                let (u, v) = (2 * Double(x) / Double(nx - 1) - 1, 2 * Double(y) / Double(ny - 1) - 1)
                let phi = a[0] * u + a[1] * v + a[2] * u * v
                let (re, im) = (m * cos(phi), m * sin(phi))
                for c in 0..<nc {
                    let o = 2 * (c * plane + y * nx + x)
                    let (sr, sIm) = (Double(maps[o]), Double(maps[o + 1]))
                    coilImages[o] = Float(re * sr - im * sIm)
                    coilImages[o + 1] = Float(re * sIm + im * sr)
                }
            } }
            try fft.forward(&coilImages)
            for i in 0..<(2 * nc * plane) { coilImages[i] += sigma * Float(rng.normal()) }
            kspace.replaceSubrange((2 * si * nc * plane)..<(2 * (si + 1) * nc * plane), with: coilImages)
            var img = coilImages
            try fft.inverse(&img)
            for p in 0..<plane {
                var acc: Float = 0
                for c in 0..<nc { let o = 2 * (c * plane + p); acc += img[o] * img[o] + img[o + 1] * img[o + 1] }
                rss[si * plane + p] = acc.squareRoot()
            }
            allMaps += maps
        }
        var file = try KSpaceFile(shape: [slices.count, nc, ny, nx], kspace: kspace)
        file.reconstructionRSS = ([slices.count, ny, nx], rss)
        file.sensitivityMaps = ([slices.count, nc, ny, nx], allMaps)
        file.max = Double(rss.max() ?? 0)
        file.norm = Double(rss.reduce(0) { $0 + $1 * $1 }).squareRoot()
        file.acquisition = acquisition
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
