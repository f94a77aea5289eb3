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

    public var inputCount: Int { ny * nx }
    public var outputCount: Int { coils * ny * nx }

    public init(maps: [Float], mask: [Float], coils: Int, ny: Int, nx: Int) throws {
        let s = try CoilSensitivityOperator(maps: maps, coils: coils, ny: ny, nx: nx)
        let m = try SamplingOperator(mask: mask, coils: coils, ny: ny, nx: nx)
        chain = try m * FourierOperator(ny: ny, nx: nx, coils: coils) * s
        self.maps = maps; self.mask = mask; self.coils = coils; self.ny = ny; self.nx = nx
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
