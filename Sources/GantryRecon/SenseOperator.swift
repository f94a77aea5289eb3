import Foundation
import GantryCore

/// The multi-coil MRI forward model for one 2D slice (SENSE), BART's and SigPy's chain
/// A = M ∘ F ∘ S: x (image, [ny, nx]) ↦ y_c = M ⊙ F(S_c · x) for every coil c ([coils, ny, nx]);
/// S the coil sensitivities, F the centred orthonormal 2D FFT per coil, M the sampling mask.
/// Adjoint: Σ_c conj(S_c) · F⁻¹(M ⊙ y_c). With one all-ones coil map it is single-coil Fourier
/// sampling.
public struct SenseOperator: LinearOperator {
    public let coils: Int
    public let ny: Int
    public let nx: Int
    /// [coils, ny, nx] interleaved complex.
    public let maps: [Float]
    /// [ny, nx] in {0, 1} (or weights).
    public let mask: [Float]
    let chain: ComposedOperator
    /// The k-space columns that hold a sample (any row): the only ones the data term needs.
    let sampledColumns: [Int]

    public var inputCount: Int { ny * nx }
    public var outputCount: Int { coils * ny * nx }

    public init(maps: [Float], mask: [Float], coils: Int, ny: Int, nx: Int) throws {
        let s = try CoilSensitivityOperator(maps: maps, coils: coils, ny: ny, nx: nx)
        let m = try SamplingOperator(mask: mask, coils: coils, ny: ny, nx: nx)
        chain = try m * FourierOperator(ny: ny, nx: nx, coils: coils) * s
        self.maps = maps; self.mask = mask; self.coils = coils; self.ny = ny; self.nx = nx
        sampledColumns = (0..<nx).filter { c in (0..<ny).contains { mask[$0 * nx + c] != 0 } }
    }

    public func forward(_ x: [Float]) throws -> [Float] {
        guard x.count == 2 * inputCount else { throw GantryError.invalidArgument("SENSE forward: image needs \(inputCount) complex values") }
        return try chain.forward(x)
    }

    public func adjoint(_ y: [Float]) throws -> [Float] {
        guard y.count == 2 * outputCount else { throw GantryError.invalidArgument("SENSE adjoint: k-space needs \(outputCount) complex values") }
        return try chain.adjoint(y)
    }
}

/// S: an image [ny, nx] ↦ its product with every coil's sensitivity [coils, ny, nx]; the adjoint
/// sums conj(S_c) · y_c over coils.
public struct CoilSensitivityOperator: LinearOperator {
    public let coils: Int, ny: Int, nx: Int
    /// [coils, ny, nx] interleaved complex.
    public let maps: [Float]

    public var inputCount: Int { ny * nx }
    public var outputCount: Int { coils * ny * nx }

    public init(maps: [Float], coils: Int, ny: Int, nx: Int) throws {
        guard maps.count == 2 * coils * ny * nx else { throw GantryError.invalidArgument("coil maps need \(coils)×\(ny)×\(nx) complex values, got \(maps.count / 2)") }
        self.maps = maps; self.coils = coils; self.ny = ny; self.nx = nx
    }

    public func forward(_ x: [Float]) throws -> [Float] {
        guard x.count == 2 * inputCount else { throw GantryError.invalidArgument("coil sensitivities: image needs \(inputCount) complex values") }
        let n = ny * nx, coils = self.coils
        // every value is written below: no zero fill
        var y = [Float](unsafeUninitializedCapacity: 2 * coils * n) { _, count in count = 2 * coils * n }
        maps.withUnsafeBufferPointer { mb in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    let (m, xp, yp) = (mb.baseAddress!, xb.baseAddress!, yb.baseAddress!)
                    Parallel.forEach(coils) { c in
                        let o = 2 * c * n
                        for p in 0..<n {
                            let (sr, si, xr, xi) = (m[o + 2 * p], m[o + 2 * p + 1], xp[2 * p], xp[2 * p + 1])
                            yp[o + 2 * p] = sr * xr - si * xi
                            yp[o + 2 * p + 1] = sr * xi + si * xr
                        }
                    }
                }
            }
        }
        return y
    }

    public func adjoint(_ k: [Float]) throws -> [Float] {
        guard k.count == 2 * outputCount else { throw GantryError.invalidArgument("coil sensitivities adjoint: needs \(outputCount) complex values") }
        let n = ny * nx, coils = self.coils
        var x = [Float](repeating: 0, count: 2 * n)
        // pixels split across threads (coils summed in order, so results do not depend on them)
        let chunks = n >= 1 << 14 ? Parallel.threads : 1
        maps.withUnsafeBufferPointer { mb in
            k.withUnsafeBufferPointer { kb in
                x.withUnsafeMutableBufferPointer { xb in
                    let (m, kp, xp) = (mb.baseAddress!, kb.baseAddress!, xb.baseAddress!)
                    Parallel.forEach(chunks) { ch in
                        let lo = n * ch / chunks, hi = n * (ch + 1) / chunks
                        for c in 0..<coils {
                            let o = 2 * c * n
                            for p in lo..<hi {
                                let (sr, si, kr, ki) = (m[o + 2 * p], m[o + 2 * p + 1], kp[o + 2 * p], kp[o + 2 * p + 1])
                                xp[2 * p] += sr * kr + si * ki
                                xp[2 * p + 1] += sr * ki - si * kr
                            }
                        }
                    }
                }
            }
        }
        return x
    }
}

/// F: the centred orthonormal 2D FFT of every coil image; the adjoint is the inverse.
public struct FourierOperator: LinearOperator {
    public let ny: Int, nx: Int, coils: Int
    let fft: FFTPlan

    public var inputCount: Int { coils * ny * nx }
    public var outputCount: Int { coils * ny * nx }
    public var normSquaredBound: Double? { 1 }

    public init(ny: Int, nx: Int, coils: Int) throws {
        self.ny = ny; self.nx = nx; self.coils = coils
        fft = try FFTPlan.plan(shape: [ny, nx], batch: coils)
    }

    public func forward(_ x: [Float]) throws -> [Float] { var y = x; try forward(inPlace: &y); return y }
    public func adjoint(_ y: [Float]) throws -> [Float] { var x = y; try adjoint(inPlace: &x); return x }
    public func forward(inPlace x: inout [Float]) throws { try fft.forward(&x) }
    public func adjoint(inPlace y: inout [Float]) throws { try fft.inverse(&y) }
}

/// M: every coil's k-space multiplied by the sampling mask (self-adjoint).
public struct SamplingOperator: LinearOperator {
    public let coils: Int, ny: Int, nx: Int
    /// [ny, nx] in {0, 1} (or weights).
    public let mask: [Float]

    public var inputCount: Int { coils * ny * nx }
    public var outputCount: Int { coils * ny * nx }

    public init(mask: [Float], coils: Int, ny: Int, nx: Int) throws {
        guard mask.count == ny * nx else { throw GantryError.invalidArgument("mask needs \(ny)×\(nx) values, got \(mask.count)") }
        self.mask = mask; self.coils = coils; self.ny = ny; self.nx = nx
    }

    public func forward(_ x: [Float]) throws -> [Float] {
        guard x.count == 2 * inputCount else { throw GantryError.invalidArgument("sampling: k-space needs \(inputCount) complex values") }
        return [Float](unsafeUninitializedCapacity: x.count) { kb, count in
            x.withUnsafeBufferPointer { masked($0.baseAddress!, into: kb.baseAddress!) }
            count = x.count
        }
    }

    public func adjoint(_ y: [Float]) throws -> [Float] { try forward(y) }

    public func forward(inPlace x: inout [Float]) throws {
        guard x.count == 2 * inputCount else { throw GantryError.invalidArgument("sampling: k-space needs \(inputCount) complex values") }
        x.withUnsafeMutableBufferPointer { kb in masked(kb.baseAddress!, into: kb.baseAddress!) }
    }

    public func adjoint(inPlace y: inout [Float]) throws { try forward(inPlace: &y) }

    /// dst = M ⊙ src for every coil (dst may be src), coils in parallel. Every value is multiplied,
    /// by 1 where sampled (exact), so the loop has no branch (skipping ones was a data-dependent
    /// branch per value).
    func masked(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let n = ny * nx
        mask.withUnsafeBufferPointer { mb in
            let m = mb.baseAddress!
            Parallel.forEach(coils, work: 2 * coils * n) { c in
                let s = src + 2 * c * n, d = dst + 2 * c * n
                for p in 0..<n {
                    let w = m[p]
                    d[2 * p] = s[2 * p] * w
                    d[2 * p + 1] = s[2 * p + 1] * w
                }
            }
        }
    }
}

extension SenseOperator {
    /// Aᴴ(Ax − y), the gradient of ½‖Ax − y‖² (a RIM's data term, every step), coil by coil in
    /// one FFT buffer: the coil image, its k-space residual and its back-projection never leave
    /// it, and the centring checkerboards are folded into the products (for even sizes, where
    /// the centred transform is σ ⊙ FFT(χ ⊙ ·), σ = s·χ):
    ///   b = χ ⊙ S_c x → FFT → b = M ⊙ (M ⊙ s·b − χ ⊙ y_c) → IFFT → Σ_c s·χ ⊙ conj(S_c) ⊙ b
    /// (M applied in A and in Aᴴ: a weighted mask counts twice on the estimate, once on y).
    /// The chain (`adjoint(forward(x) − y)`) instead writes and reads every coil's full array
    /// about ten times. Coils are split between threads, each summing its own and the sums added
    /// in a fixed order. Odd sizes run the chain.
    /// AᴴA x (a RIM's backward pass through its data term, CG's normal equations) by the fused
    /// path with y = 0.
    public func normal(_ x: [Float]) throws -> [Float] {
        try residualGradient(x, measured: [Float](repeating: 0, count: 2 * outputCount))
    }

    public func residualGradient(_ x: [Float], measured y: [Float]) throws -> [Float] {
        guard x.count == 2 * inputCount, y.count == 2 * outputCount else {
            throw GantryError.invalidArgument("SENSE residual: image needs \(inputCount), k-space \(outputCount) complex values")
        }
        guard let s = FFTPlan.centringScale(shape: [ny, nx]) else { return try chain.residualGradient(x, measured: y) }
        // Few sampled columns (an undersampled 1D mask): the 2D transform as rows along x, then
        // columns along y for the sampled columns only (the residual is zero elsewhere), and back.
        let columns = sampledColumns, pruned = 2 * columns.count <= nx
        // The image's transform (its rows when pruned, else the whole 2D one) and the sampled columns'.
        let imagePlan = try FFTPlan.plan(shape: pruned ? [nx] : [ny, nx], batch: pruned ? ny : 1, serial: true)
        let columnPlan = pruned && !columns.isEmpty ? try FFTPlan.plan(shape: [ny], batch: columns.count, serial: true) : nil
        let (ny, nx, coils, n) = (self.ny, self.nx, self.coils, self.ny * self.nx)
        let chunks = min(Parallel.threads, coils)
        var sums = [[Float]](repeating: [], count: chunks)
        let lock = NSLock()
        try maps.withUnsafeBufferPointer { mb in try mask.withUnsafeBufferPointer { kb in try x.withUnsafeBufferPointer { xb in try y.withUnsafeBufferPointer { yb in
            let (mp, maskp, xp, yp) = (mb.baseAddress!, kb.baseAddress!, xb.baseAddress!, yb.baseAddress!)
            var failure: Error?
            Parallel.forEach(chunks) { ch in
                var acc = [Float](repeating: 0, count: 2 * n)
                do {
                    try imagePlan.withBareTransform { b, transform in
                        // The k-space stage on b (FFT'd image in, inverse-FFT'd residual out):
                        // b = M ⊙ (M ⊙ s·b − χ ⊙ y_c) on the sampled values, 0 elsewhere.
                        func residual(_ yc: UnsafePointer<Float>) throws {
                            guard pruned else {
                                transform(false)
                                for r in 0..<ny {
                                    let a: Float = r & 1 == 0 ? 1 : -1, o = 2 * r * nx
                                    for j in stride(from: o, to: o + 2 * nx, by: 4) {
                                        let (m0, m1) = (maskp[j / 2], maskp[j / 2 + 1])
                                        let (t0, t1) = (m0 * s, m1 * s)
                                        b[j] = m0 * (t0 * b[j] - a * yc[j]); b[j + 1] = m0 * (t0 * b[j + 1] - a * yc[j + 1])
                                        b[j + 2] = m1 * (t1 * b[j + 2] + a * yc[j + 2]); b[j + 3] = m1 * (t1 * b[j + 3] + a * yc[j + 3])
                                    }
                                }
                                transform(true)
                                return
                            }
                            transform(false)  // rows along x
                            let stage = { (g: UnsafeMutablePointer<Float>, columnTransform: (Bool) -> Void) in
                                for (k, c) in columns.enumerated() {
                                    let gk = g + 2 * k * ny
                                    for r in 0..<ny { gk[2 * r] = b[2 * (r * nx + c)]; gk[2 * r + 1] = b[2 * (r * nx + c) + 1] }
                                }
                                columnTransform(false)
                                for (k, c) in columns.enumerated() {
                                    let gk = g + 2 * k * ny
                                    for r in 0..<ny {
                                        let p = r * nx + c, m = maskp[p], a: Float = (r + c) & 1 == 0 ? 1 : -1
                                        gk[2 * r] = m * (m * s * gk[2 * r] - a * yc[2 * p]); gk[2 * r + 1] = m * (m * s * gk[2 * r + 1] - a * yc[2 * p + 1])
                                    }
                                }
                                columnTransform(true)
                                b.initialize(repeating: 0, count: 2 * n)
                                for (k, c) in columns.enumerated() {
                                    let gk = g + 2 * k * ny
                                    for r in 0..<ny { b[2 * (r * nx + c)] = gk[2 * r]; b[2 * (r * nx + c) + 1] = gk[2 * r + 1] }
                                }
                            }
                            if let columnPlan { try columnPlan.withBareTransform(stage) } else { b.initialize(repeating: 0, count: 2 * n) }
                            transform(true)  // rows along x, inverse
                        }
                        for c in (coils * ch / chunks)..<(coils * (ch + 1) / chunks) {
                            let sc = mp + 2 * c * n
                            // Pixel (r, col) has χ = (−1)^(r + col): rows of pairs, signs (a, −a).
                            for r in 0..<ny {
                                let a: Float = r & 1 == 0 ? 1 : -1, o = 2 * r * nx
                                for j in stride(from: o, to: o + 2 * nx, by: 4) {
                                    let (s0r, s0i, s1r, s1i) = (sc[j], sc[j + 1], sc[j + 2], sc[j + 3])
                                    let (x0r, x0i, x1r, x1i) = (xp[j], xp[j + 1], xp[j + 2], xp[j + 3])
                                    b[j] = a * (s0r * x0r - s0i * x0i); b[j + 1] = a * (s0r * x0i + s0i * x0r)
                                    b[j + 2] = -a * (s1r * x1r - s1i * x1i); b[j + 3] = -a * (s1r * x1i + s1i * x1r)
                                }
                            }
                            try residual(yp + 2 * c * n)
                            acc.withUnsafeMutableBufferPointer { ab in
                                let ap = ab.baseAddress!
                                for r in 0..<ny {
                                    let a: Float = r & 1 == 0 ? s : -s, o = 2 * r * nx
                                    for j in stride(from: o, to: o + 2 * nx, by: 4) {
                                        let (s0r, s0i, s1r, s1i) = (sc[j], sc[j + 1], sc[j + 2], sc[j + 3])
                                        let (b0r, b0i, b1r, b1i) = (b[j], b[j + 1], b[j + 2], b[j + 3])
                                        ap[j] += a * (s0r * b0r + s0i * b0i); ap[j + 1] += a * (s0r * b0i - s0i * b0r)
                                        ap[j + 2] -= a * (s1r * b1r + s1i * b1i); ap[j + 3] -= a * (s1r * b1i - s1i * b1r)
                                    }
                                }
                            }
                        }
                    }
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
                lock.lock(); sums[ch] = acc; lock.unlock()
            }
            if let failure { throw failure }
        } } } }
        var g = sums[0]
        for ch in 1..<chunks { for i in 0..<g.count { g[i] += sums[ch][i] } }
        return g
    }
}
