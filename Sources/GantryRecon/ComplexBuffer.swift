/// Helpers on interleaved complex buffers ([re0, im0, re1, im1, …] Float arrays), the layout FFTW and
/// fastMRI files use. Reductions accumulate in Double.
public enum ComplexBuffer {
    /// ⟨a, b⟩ = Σ conj(a)·b.
    public static func dot(_ a: [Float], _ b: [Float]) -> (re: Double, im: Double) {
        var re = 0.0, im = 0.0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var i = 0
                while i < pa.count {
                    let (ar, ai, br, bi) = (Double(pa[i]), Double(pa[i + 1]), Double(pb[i]), Double(pb[i + 1]))
                    re += ar * br + ai * bi
                    im += ar * bi - ai * br
                    i += 2
                }
            }
        }
        return (re, im)
    }

    /// Σ|a|².
    public static func normSquared(_ a: [Float]) -> Double {
        var s = 0.0
        for v in a { s += Double(v) * Double(v) }
        return s
    }

    /// a += alpha · b (alpha real).
    public static func axpy(_ a: inout [Float], _ alpha: Float, _ b: [Float]) {
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count { pa[i] += alpha * pb[i] }
            }
        }
    }

    /// |z| per element.
    public static func magnitude(_ a: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: a.count / 2)
        for i in 0..<out.count {
            let re = a[2 * i], im = a[2 * i + 1]
            out[i] = (re * re + im * im).squareRoot()
        }
        return out
    }

    /// Root-sum-of-squares over `coils` images of `n` pixels each ([coil, pixel] order).
    public static func rss(_ a: [Float], coils: Int, pixels n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        for c in 0..<coils {
            for p in 0..<n {
                let o = 2 * (c * n + p)
                out[p] += a[o] * a[o] + a[o + 1] * a[o + 1]
            }
        }
        return out.map { $0.squareRoot() }
    }

    /// Deterministic complex Gaussian noise (for tests and dot tests).
    public static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededRandom(seed: seed)
        return (0..<(2 * count)).map { _ in Float(g.normal()) }
    }
}

import GantryCore
