import Foundation
import GantryCore

/// One synthetic subject: four co-registered contrasts, the BraTS-style tumour label map
/// (0 background, 1 necrotic core, 2 oedema, 3 enhancing rim), a brain mask and healthy tissue
/// labels (1 CSF, 2 GM, 3 WM), all on one grid with the same affine.
public struct BrainTumourSubject: Sendable {
    public var contrasts: [Contrast: Volume]
    public var tumour: Volume
    public var brainMask: Volume
    public var tissue: Volume
    /// Tumour centre (world mm) and outer radius (mm), for reports and tests.
    public var tumourCentre: [Double]
    public var tumourRadius: Double
}

/// Generates brain-tumour subjects from an anatomy: a random smooth deformation and small rigid
/// motion per seed, an irregular tumour (noise-perturbed boundary) with necrotic core, enhancing rim
/// and oedema, tissue-specific contrasts with the real texture kept, partial-volume blur, a smooth
/// bias field and Rician noise. Fully determined by (anatomy, spec, seed).
public struct BrainTumourPhantom: Sendable {
    public var anatomy: BrainAnatomy
    public var spec: BrainTumourSpec

    public init(anatomy: BrainAnatomy, spec: BrainTumourSpec = .default) {
        self.anatomy = anatomy; self.spec = spec
    }

    public func subject(seed: UInt64) throws -> BrainTumourSubject {
        var rng = SeededRandom(seed: seed)
        let grid = anatomy.texture
        let s = grid.spatialShape
        let n = s[0] * s[1] * s[2]
        guard let inv = grid.affine.inverse else { throw GantryError.invalidArgument("anatomy affine is singular") }

        // 1. Warp: x_src = R (x − c) + c + t + d(x), d a smooth random field from a coarse control grid.
        let centre = grid.affine.apply((Double(s[0] - 1) / 2, Double(s[1] - 1) / 2, Double(s[2] - 1) / 2))
        let rot = Rotation.random(&rng, maxDegrees: spec.rotationDegrees)
        let shift = (0..<3).map { _ in rng.uniform(-3, 3) }
        let control = ControlGrid(size: 5, amplitude: spec.deformationMM, rng: &rng)
        var tissue = [UInt8](repeating: 0, count: n)
        var texture = [Float](repeating: 0, count: n)
        anatomy.tissue.withUnsafeBufferPointer { srcT in
            grid.data.withUnsafeBufferPointer { srcX in
                tissue.withUnsafeMutableBufferPointer { dT in
                    texture.withUnsafeMutableBufferPointer { dX in
                        Parallel.forEach(s[2]) { k in
                            for j in 0..<s[1] { for i in 0..<s[0] {
                                let w = grid.affine.apply((Double(i), Double(j), Double(k)))
                                let d = control.displacement(Double(i) / Double(s[0] - 1), Double(j) / Double(s[1] - 1), Double(k) / Double(s[2] - 1))
                                let r = rot.apply((w.0 - centre.0, w.1 - centre.1, w.2 - centre.2))
                                let src = inv.apply((r.0 + centre.0 + shift[0] + d.0, r.1 + centre.1 + shift[1] + d.1, r.2 + centre.2 + shift[2] + d.2))
                                let o = i + s[0] * (j + s[1] * k)
                                dT[o] = Sampling.nearest(srcT, s, src)
                                dX[o] = Sampling.linear(srcX, s, src)
                            } }
                        }
                    }
                }
            }
        }

        // 2. Tumour: centre deep in the brain, irregular radius r(u) = r0 (1 + ε Σ a_m sin(f_m·u + φ_m)).
        let r0 = rng.uniform(spec.tumourRadiusMM[0], spec.tumourRadiusMM[1])
        let c = try tumourCentre(tissue: tissue, grid: grid, radius: r0, rng: &rng)
        let harmonics = (0..<4).map { m -> ([Double], Double, Double) in
            let dir = Rotation.randomUnit(&rng)
            return (dir.map { $0 * Double(m + 1) * 1.5 }, rng.uniform(0, 2 * .pi), rng.uniform(0.5, 1) / Double(m + 1))
        }
        let oedemaHarmonics = (0..<3).map { m -> ([Double], Double, Double) in
            let dir = Rotation.randomUnit(&rng)
            return (dir.map { $0 * Double(m + 1) * 2 }, rng.uniform(0, 2 * .pi), rng.uniform(0.5, 1) / Double(m + 1))
        }
        func radius(_ u: [Double], _ h: [([Double], Double, Double)], _ scale: Double) -> Double {
            var p = 0.0
            for (f, phase, a) in h { p += a * sin(f[0] * u[0] + f[1] * u[1] + f[2] * u[2] + phase) }
            return scale * (1 + spec.irregularity * p)
        }
        var labels = [Tissue](repeating: .background, count: n)
        for i in 0..<n { labels[i] = Tissue(rawValue: Int(tissue[i])) ?? .background }
        let reach = r0 * spec.oedemaExtent * (1 + 2 * spec.irregularity) + 2
        let sp = grid.spacing
        let ci = inv.apply((c[0], c[1], c[2]))
        let lo = [ci.0, ci.1, ci.2].enumerated().map { max(0, Int(($1 - reach / sp[$0]).rounded(.down))) }
        let hi = [ci.0, ci.1, ci.2].enumerated().map { min(s[$0] - 1, Int(($1 + reach / sp[$0]).rounded(.up))) }
        if lo[0] <= hi[0] && lo[1] <= hi[1] && lo[2] <= hi[2] {
            for k in lo[2]...hi[2] { for j in lo[1]...hi[1] { for i in lo[0]...hi[0] {
                let o = i + s[0] * (j + s[1] * k)
                guard labels[o] != .background else { continue }
                let w = grid.affine.apply((Double(i), Double(j), Double(k)))
                let v = [w.0 - c[0], w.1 - c[1], w.2 - c[2]]
                let dist = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot()
                let u = dist > 0 ? v.map { $0 / dist } : [1, 0, 0]
                let d = dist / radius(u, harmonics, r0)
                if d < spec.necrosisFraction { labels[o] = .necrosis }
                else if d < spec.rimFraction { labels[o] = .enhancing }
                else if dist / radius(u, oedemaHarmonics, r0 * spec.oedemaExtent) < 1 && labels[o] != .csf { labels[o] = .oedema }
            } } }
        }

        // 3. Contrasts: class intensity × (1 + texture deviation), blur, bias, Rician noise.
        var classMean = [Double](repeating: 0, count: 4), classCount = [Int](repeating: 0, count: 4)
        for i in 0..<n where tissue[i] > 0 { classMean[Int(tissue[i])] += Double(texture[i]); classCount[Int(tissue[i])] += 1 }
        for t in 1..<4 { classMean[t] = classCount[t] > 0 ? classMean[t] / Double(classCount[t]) : 1 }
        var contrasts: [Contrast: Volume] = [:]
        for (ci, contrast) in Contrast.allCases.enumerated() {
            var img = [Float](repeating: 0, count: n)
            for i in 0..<n where labels[i] != .background {
                let base = spec.intensity(contrast, labels[i])
                let t = Int(tissue[i])
                let dev = t > 0 ? max(-3, min(3, (Double(texture[i]) / classMean[t] - 1) / 0.1)) : 0
                img[i] = Float(base * (1 + spec.texture * dev))
            }
            var vol = try grid.with(data: img)
            if spec.blurMM > 0 { vol = try vol.gaussianSmoothed(sigmaMM: [spec.blurMM, spec.blurMM, spec.blurMM]) }
            var crng = SeededRandom(seed: seed, stream: UInt64(100 + ci))
            let bias = BiasField(amplitude: spec.biasAmplitude, rng: &crng)
            let sigma = Float(spec.noise)
            let noiseSeed = crng.next()
            vol.data.withUnsafeMutableBufferPointer { buf in
                Parallel.forEach(s[2]) { k in
                    var nr = SeededRandom(seed: noiseSeed, stream: UInt64(k))
                    for j in 0..<s[1] { for i in 0..<s[0] {
                        let o = i + s[0] * (j + s[1] * k)
                        let b = bias.value(Double(i) / Double(s[0] - 1), Double(j) / Double(s[1] - 1), Double(k) / Double(s[2] - 1))
                        let x = buf[o] * Float(b)
                        let n1 = x + sigma * Float(nr.normal()), n2 = sigma * Float(nr.normal())
                        buf[o] = (n1 * n1 + n2 * n2).squareRoot()
                    } }
                }
            }
            contrasts[contrast] = vol
        }

        let tumourMap = try grid.with(data: labels.map { Float($0.tumourLabel) })
        let mask = try grid.with(data: labels.map { $0 == .background ? 0 : 1 })
        let tissueMap = try grid.with(data: tissue.map { Float($0) })
        return BrainTumourSubject(contrasts: contrasts, tumour: tumourMap, brainMask: mask, tissue: tissueMap,
                                  tumourCentre: c, tumourRadius: r0)
    }

    /// A random brain voxel whose surroundings at distance `radius` along the axes are brain.
    func tumourCentre(tissue: [UInt8], grid: Volume, radius: Double, rng: inout SeededRandom) throws -> [Double] {
        let s = grid.spatialShape
        let brain = (0..<tissue.count).filter { tissue[$0] >= 2 }
        guard !brain.isEmpty else { throw GantryError.invalidArgument("anatomy has no brain tissue") }
        guard let inv = grid.affine.inverse else { throw GantryError.invalidArgument("anatomy affine is singular") }
        func isBrain(_ w: (Double, Double, Double)) -> Bool {
            let p = inv.apply(w)
            let (i, j, k) = (Int(p.0.rounded()), Int(p.1.rounded()), Int(p.2.rounded()))
            guard i >= 0, j >= 0, k >= 0, i < s[0], j < s[1], k < s[2] else { return false }
            return tissue[i + s[0] * (j + s[1] * k)] != 0
        }
        var fallback: [Double]? = nil
        for attempt in 0..<400 {
            let o = brain[Int(rng.next() % UInt64(brain.count))]
            let (i, j, k) = (o % s[0], (o / s[0]) % s[1], o / (s[0] * s[1]))
            let w = grid.affine.apply((Double(i), Double(j), Double(k)))
            let reach = attempt < 200 ? radius * 1.3 : radius * 0.8
            let probes = [(reach, 0.0, 0.0), (-reach, 0, 0), (0, reach, 0), (0, -reach, 0), (0, 0, reach), (0, 0, -reach)]
            if probes.allSatisfy({ isBrain((w.0 + $0.0, w.1 + $0.1, w.2 + $0.2)) }) { return [w.0, w.1, w.2] }
            if fallback == nil { fallback = [w.0, w.1, w.2] }
        }
        return fallback ?? [0, 0, 0]
    }
}

/// Rotations for random rigid motion.
struct Rotation {
    var m: [Double]  // row-major 3×3

    func apply(_ p: (Double, Double, Double)) -> (Double, Double, Double) {
        (m[0] * p.0 + m[1] * p.1 + m[2] * p.2, m[3] * p.0 + m[4] * p.1 + m[5] * p.2, m[6] * p.0 + m[7] * p.1 + m[8] * p.2)
    }

    static func random(_ rng: inout SeededRandom, maxDegrees: Double) -> Rotation {
        let a = (0..<3).map { _ in rng.uniform(-maxDegrees, maxDegrees) * .pi / 180 }
        let (cx, sx, cy, sy, cz, sz) = (cos(a[0]), sin(a[0]), cos(a[1]), sin(a[1]), cos(a[2]), sin(a[2]))
        // Rz · Ry · Rx
        return Rotation(m: [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
                            sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
                            -sy, cy * sx, cy * cx])
    }

    static func randomUnit(_ rng: inout SeededRandom) -> [Double] {
        let v = (0..<3).map { _ in rng.normal() }
        let n = max(1e-12, (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot())
        return v.map { $0 / n }
    }
}

/// A smooth random displacement field: random vectors on a coarse size³ control grid over the unit
/// cube, trilinearly interpolated (smooth at the grid scale).
struct ControlGrid {
    let size: Int
    var values: [Double]  // size³ × 3

    init(size: Int, amplitude: Double, rng: inout SeededRandom) {
        self.size = size
        values = (0..<(size * size * size * 3)).map { _ in rng.normal() * amplitude / 2 }
    }

    func displacement(_ x: Double, _ y: Double, _ z: Double) -> (Double, Double, Double) {
        let g = Double(size - 1)
        let (fx, fy, fz) = (min(max(x, 0), 1) * g, min(max(y, 0), 1) * g, min(max(z, 0), 1) * g)
        let (x0, y0, z0) = (min(Int(fx), size - 2), min(Int(fy), size - 2), min(Int(fz), size - 2))
        let (tx, ty, tz) = (fx - Double(x0), fy - Double(y0), fz - Double(z0))
        var out = [0.0, 0.0, 0.0]
        for dz in 0...1 { for dy in 0...1 { for dx in 0...1 {
            let w = (dx == 1 ? tx : 1 - tx) * (dy == 1 ? ty : 1 - ty) * (dz == 1 ? tz : 1 - tz)
            let base = 3 * ((x0 + dx) + size * ((y0 + dy) + size * (z0 + dz)))
            for c in 0..<3 { out[c] += w * values[base + c] }
        } } }
        return (out[0], out[1], out[2])
    }
}

/// A smooth multiplicative bias field exp(Σ c·monomial) over the unit cube, up to second order.
struct BiasField {
    var coefficients: [Double]

    init(amplitude: Double, rng: inout SeededRandom) {
        coefficients = (0..<9).map { _ in rng.uniform(-1, 1) * amplitude / 6 }
    }

    func value(_ x: Double, _ y: Double, _ z: Double) -> Double {
        let (u, v, w) = (2 * x - 1, 2 * y - 1, 2 * z - 1)
        let terms = [u, v, w, u * u - 1.0 / 3, v * v - 1.0 / 3, w * w - 1.0 / 3, u * v, v * w, u * w]
        var s = 0.0
        for i in 0..<9 { s += coefficients[i] * terms[i] }
        return exp(s)
    }
}

/// Voxel sampling in raw buffers (shape x-fastest), used by warps.
enum Sampling {
    static func nearest<T: Numeric>(_ b: UnsafeBufferPointer<T>, _ s: [Int], _ p: (Double, Double, Double)) -> T {
        let (i, j, k) = (Int(p.0.rounded()), Int(p.1.rounded()), Int(p.2.rounded()))
        guard i >= 0, j >= 0, k >= 0, i < s[0], j < s[1], k < s[2] else { return 0 }
        return b[i + s[0] * (j + s[1] * k)]
    }

    static func linear(_ b: UnsafeBufferPointer<Float>, _ s: [Int], _ p: (Double, Double, Double)) -> Float {
        guard p.0 >= 0, p.1 >= 0, p.2 >= 0, p.0 <= Double(s[0] - 1), p.1 <= Double(s[1] - 1), p.2 <= Double(s[2] - 1) else { return 0 }
        let (x0, y0, z0) = (min(Int(p.0), s[0] - 2), min(Int(p.1), s[1] - 2), min(Int(p.2), s[2] - 2))
        let (fx, fy, fz) = (Float(p.0 - Double(x0)), Float(p.1 - Double(y0)), Float(p.2 - Double(z0)))
        func v(_ a: Int, _ bb: Int, _ c: Int) -> Float { b[a + s[0] * (bb + s[1] * c)] }
        let c00 = v(x0, y0, z0) * (1 - fx) + v(x0 + 1, y0, z0) * fx
        let c10 = v(x0, y0 + 1, z0) * (1 - fx) + v(x0 + 1, y0 + 1, z0) * fx
        let c01 = v(x0, y0, z0 + 1) * (1 - fx) + v(x0 + 1, y0, z0 + 1) * fx
        let c11 = v(x0, y0 + 1, z0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1, z0 + 1) * fx
        return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz
    }
}
