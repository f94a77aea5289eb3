import Foundation
import GantryCore

/// Undersampling patterns for 2D slices ([ny, nx], x fastest). 1D patterns select whole k-space
/// columns (kx lines, the last axis, as fastMRI's mask functions do); 2D patterns select points.
/// Every pattern keeps a fully sampled centre (`centerFraction` of the lines, or a centre box for 2D)
/// and is fully determined by its seed.
public enum MaskKind: String, CaseIterable, Sendable {
    /// fastMRI `EquispacedMaskFractionFunc`: centre + every r-th line from a random offset.
    case equispaced
    /// fastMRI `RandomMaskFunc`: centre + each other line with the probability that gives R on average.
    case random
    /// Variable density 1D: lines drawn without replacement with Gaussian weights around the centre.
    case gaussian1d
    /// Variable density 2D: points drawn without replacement with Gaussian weights.
    case gaussian2d
    /// Variable-density Poisson disc 2D (minimum distance growing with |k|), as BART's `poisson`.
    case poisson
}

public struct SamplingMask: Sendable {
    public var kind: MaskKind
    public var acceleration: Double
    public var centerFraction: Double
    public var seed: UInt64

    public init(kind: MaskKind = .random, acceleration: Double = 4, centerFraction: Double = 0.08, seed: UInt64 = 0) {
        self.kind = kind; self.acceleration = acceleration; self.centerFraction = centerFraction; self.seed = seed
    }

    /// The mask as [ny, nx] of 0/1.
    public func make(ny: Int, nx: Int) throws -> [Float] {
        guard acceleration >= 1 else { throw GantryError.invalidArgument("acceleration must be ≥ 1, got \(acceleration)") }
        guard (0...1).contains(centerFraction) else { throw GantryError.invalidArgument("centre fraction must be 0…1, got \(centerFraction)") }
        guard ny > 1, nx > 1 else { throw GantryError.invalidArgument("mask shape \(ny)×\(nx) too small") }
        var rng = SeededRandom(seed: seed)
        switch kind {
        case .equispaced, .random, .gaussian1d:
            let lines = try columns(nx, &rng)
            var m = [Float](repeating: 0, count: ny * nx)
            for y in 0..<ny { for x in 0..<nx where lines[x] { m[y * nx + x] = 1 } }
            return m
        case .gaussian2d: return gaussian2D(ny, nx, &rng)
        case .poisson: return poisson(ny, nx, &rng)
        }
    }

    /// Columns sampled by the 1D patterns.
    func columns(_ n: Int, _ rng: inout SeededRandom) throws -> [Bool] {
        let low = Int((Double(n) * centerFraction).rounded())
        var m = [Bool](repeating: false, count: n)
        let pad = (n - low + 1) / 2
        for i in pad..<min(n, pad + low) { m[i] = true }
        let target = Int((Double(n) / acceleration).rounded())
        switch kind {
        case .random:
            guard n > low else { return m }
            let prob = (Double(n) / acceleration - Double(low)) / Double(n - low)
            for i in 0..<n where !m[i] { if rng.uniform() < prob { m[i] = true } }
        case .equispaced:
            // Spacing chosen so centre + equispaced lines total n / R (fastMRI's adjusted acceleration).
            let denom = Double(low) * acceleration - Double(n)
            let adjusted = denom != 0 ? acceleration * Double(low - n) / denom : acceleration
            let step = max(1.0, adjusted)
            var x = Double(Int(rng.next() % UInt64(max(1, Int(step.rounded())))))
            while Int(x.rounded()) < n { m[Int(x.rounded())] = true; x += step }
        default:
            let sigma = Double(n) / 5
            let keys = (0..<n).map { i -> (Double, Int) in
                let d = Double(i) - Double(n) / 2
                let w = exp(-d * d / (2 * sigma * sigma))
                return (pow(rng.uniform(), 1 / max(w, 1e-12)), i)  // Efraimidis–Spirakis weighted sampling
            }
            var have = m.filter { $0 }.count
            for (_, i) in keys.sorted(by: { $0.0 > $1.0 }) where have < target && !m[i] { m[i] = true; have += 1 }
        }
        return m
    }

    func centreBox(_ ny: Int, _ nx: Int) -> (ClosedRange<Int>, ClosedRange<Int>)? {
        let cy = max(0, Int((Double(ny) * centerFraction).rounded())), cx = max(0, Int((Double(nx) * centerFraction).rounded()))
        guard cy > 0, cx > 0 else { return nil }
        let y0 = (ny - cy + 1) / 2, x0 = (nx - cx + 1) / 2
        return (y0...(y0 + cy - 1), x0...(x0 + cx - 1))
    }

    func gaussian2D(_ ny: Int, _ nx: Int, _ rng: inout SeededRandom) -> [Float] {
        var m = [Float](repeating: 0, count: ny * nx)
        if let (ys, xs) = centreBox(ny, nx) { for y in ys { for x in xs { m[y * nx + x] = 1 } } }
        let target = Int((Double(ny * nx) / acceleration).rounded())
        var have = Int(m.reduce(0, +))
        let (sy, sx) = (Double(ny) / 5, Double(nx) / 5)
        var keys: [(Double, Int)] = []
        keys.reserveCapacity(ny * nx)
        for y in 0..<ny { for x in 0..<nx {
            let dy = Double(y) - Double(ny) / 2, dx = Double(x) - Double(nx) / 2
            let w = exp(-dy * dy / (2 * sy * sy) - dx * dx / (2 * sx * sx))
            keys.append((log(max(rng.uniform(), 1e-300)) / max(w, 1e-12), y * nx + x))
        } }
        for (_, i) in keys.sorted(by: { $0.0 > $1.0 }) where have < target && m[i] == 0 { m[i] = 1; have += 1 }
        return m
    }

    /// Variable-density Poisson disc: points in random order are accepted when no accepted point lies
    /// within r(k) = r0 · (1 + 2|k|) (|k| normalised to 1 at the edge); r0 is bisected to reach n / R.
    func poisson(_ ny: Int, _ nx: Int, _ rng: inout SeededRandom) -> [Float] {
        let order = (0..<(ny * nx)).shuffled(using: &rng)
        let target = Double(ny * nx) / acceleration
        func draw(_ r0: Double) -> [Float] {
            var m = [Float](repeating: 0, count: ny * nx)
            if let (ys, xs) = centreBox(ny, nx) { for y in ys { for x in xs { m[y * nx + x] = 1 } } }
            var accepted = [Int]()
            let cell = max(1, Int(r0))
            var grid = [Int: [Int]]()
            func key(_ y: Int, _ x: Int) -> Int { (y / cell) * 100_000 + x / cell }
            for i in order {
                let y = i / nx, x = i % nx
                if m[i] == 1 { continue }
                let ky = (Double(y) - Double(ny) / 2) / (Double(ny) / 2), kx = (Double(x) - Double(nx) / 2) / (Double(nx) / 2)
                let r = r0 * (1 + 2 * (ky * ky + kx * kx).squareRoot())
                let reach = Int(r.rounded(.up)) / cell + 1
                var ok = true
                search: for gy in (y / cell - reach)...(y / cell + reach) {
                    for gx in (x / cell - reach)...(x / cell + reach) {
                        for j in grid[gy * 100_000 + gx] ?? [] {
                            let (jy, jx) = (j / nx, j % nx)
                            if Double((jy - y) * (jy - y) + (jx - x) * (jx - x)) < r * r { ok = false; break search }
                        }
                    }
                }
                if ok { m[i] = 1; accepted.append(i); grid[key(y, x), default: []].append(i) }
            }
            return m
        }
        var lo = 0.3, hi = Double(max(ny, nx)) / 2
        var best = draw(1)
        for _ in 0..<18 {
            let mid = (lo + hi) / 2
            let m = draw(mid)
            let count = Double(m.reduce(0, +))
            best = m
            if abs(count - target) / target < 0.01 { break }
            if count > target { lo = mid } else { hi = mid }
        }
        return best
    }
}
