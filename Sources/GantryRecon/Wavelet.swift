import GantryCore

/// Orthonormal 2D discrete wavelet transform (Daubechies-4 taps, "db2", periodic boundaries) of a
/// complex image [ny, nx], multi-level. Sizes not divisible by 2^levels are zero-padded by the
/// caller (`WaveletSparsity`). Orthonormal: the inverse is the transpose, ‖Wx‖ = ‖x‖ (tested).
public struct Wavelet2D: Sendable {
    public let ny: Int
    public let nx: Int
    public let levels: Int
    static let s3 = 3.0.squareRoot()
    static let h: [Float] = [1 + s3, 3 + s3, 3 - s3, 1 - s3].map { Float($0 / (4 * 2.0.squareRoot())) }
    static let g: [Float] = [h[3], -h[2], h[1], -h[0]]

    public init(ny: Int, nx: Int, levels: Int) throws {
        guard levels >= 1, ny % (1 << levels) == 0, nx % (1 << levels) == 0, ny >> levels >= 2, nx >> levels >= 2 else {
            throw GantryError.invalidArgument("wavelet: \(ny)×\(nx) is not divisible by 2^\(levels) with ≥ 2 samples left")
        }
        self.ny = ny; self.nx = nx; self.levels = levels
    }

    /// Forward transform (in place on interleaved complex data).
    public func forward(_ x: inout [Float]) {
        var (h, w) = (ny, nx)
        for _ in 0..<levels {
            rows(&x, h, w, inverse: false)
            cols(&x, h, w, inverse: false)
            h /= 2; w /= 2
        }
    }

    public func inverse(_ x: inout [Float]) {
        for l in stride(from: levels - 1, through: 0, by: -1) {
            let h = ny >> l, w = nx >> l
            cols(&x, h, w, inverse: true)
            rows(&x, h, w, inverse: true)
        }
    }

    /// 1D analysis/synthesis along a strided line of length n (complex, stride in complex elements).
    @inline(__always)
    static func line(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ stride: Int, _ tmp: inout [Float], inverse: Bool) {
        let half = n / 2
        for i in 0..<(2 * n) { tmp[i] = 0 }
        if !inverse {
            for k in 0..<half {
                var ar: Float = 0, ai: Float = 0, dr: Float = 0, di: Float = 0
                for t in 0..<4 {
                    let j = (2 * k + t) % n
                    let (re, im) = (p[2 * j * stride], p[2 * j * stride + 1])
                    ar += h[t] * re; ai += h[t] * im
                    dr += g[t] * re; di += g[t] * im
                }
                tmp[2 * k] = ar; tmp[2 * k + 1] = ai
                tmp[2 * (half + k)] = dr; tmp[2 * (half + k) + 1] = di
            }
        } else {
            for k in 0..<half {
                let (ar, ai) = (p[2 * k * stride], p[2 * k * stride + 1])
                let (dr, di) = (p[2 * (half + k) * stride], p[2 * (half + k) * stride + 1])
                for t in 0..<4 {
                    let j = (2 * k + t) % n
                    tmp[2 * j] += h[t] * ar + g[t] * dr
                    tmp[2 * j + 1] += h[t] * ai + g[t] * di
                }
            }
        }
        for i in 0..<n { p[2 * i * stride] = tmp[2 * i]; p[2 * i * stride + 1] = tmp[2 * i + 1] }
    }

    /// Transforms the first `w` entries of the first `h` rows (along x) …
    func rows(_ x: inout [Float], _ h: Int, _ w: Int, inverse: Bool) {
        lines(&x, count: h, length: w, lineStep: nx, sampleStride: 1, inverse: inverse)
    }

    /// … or the first `h` entries of the first `w` columns (along y), split over the cores.
    func cols(_ x: inout [Float], _ h: Int, _ w: Int, inverse: Bool) {
        lines(&x, count: w, length: h, lineStep: 1, sampleStride: nx, inverse: inverse)
    }

    private func lines(_ x: inout [Float], count: Int, length: Int, lineStep: Int, sampleStride: Int, inverse: Bool) {
        x.withUnsafeMutableBufferPointer { b in
            let p = b.baseAddress!
            let chunks = count * length >= 1 << 14 ? Parallel.threads : 1
            Parallel.forEach(chunks) { c in
                var tmp = [Float](repeating: 0, count: 2 * length)
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if sampleStride == 1 {
                    for i in lo..<hi { Wavelet2D.line(p + 2 * i * lineStep, length, 1, &tmp, inverse: inverse) }
                    return
                }
                // Columns: gather blocks of 8 into a contiguous buffer row by row (a power-of-two row
                // stride would otherwise thrash the cache), transform, scatter back.
                let block = 8
                var cols = [Float](repeating: 0, count: 2 * block * length)
                var i0 = lo
                while i0 < hi {
                    let w = min(block, hi - i0)
                    cols.withUnsafeMutableBufferPointer { cb in
                        let q = cb.baseAddress!
                        for t in 0..<length {
                            let row = p + 2 * (t * sampleStride + i0 * lineStep)
                            for j in 0..<w { q[2 * (j * length + t)] = row[2 * j]; q[2 * (j * length + t) + 1] = row[2 * j + 1] }
                        }
                        for j in 0..<w { Wavelet2D.line(q + 2 * j * length, length, 1, &tmp, inverse: inverse) }
                        for t in 0..<length {
                            let row = p + 2 * (t * sampleStride + i0 * lineStep)
                            for j in 0..<w { row[2 * j] = q[2 * (j * length + t)]; row[2 * j + 1] = q[2 * (j * length + t) + 1] }
                        }
                    }
                    i0 += w
                }
            }
        }
    }
}

/// The ℓ1-wavelet regulariser's proximal step with cycle spinning: pad to a dyadic-friendly size,
/// shift by a random offset, transform, soft-threshold the detail coefficients (complex magnitude),
/// transform back, unshift and crop. All bands are thresholded, the coarsest approximation included
/// (measured: +0.1–0.4 dB on BART's phantom vs leaving it alone, matching BART's `pics -l1` within 0.4 dB).
public struct WaveletSparsity: Sendable {
    public let ny: Int, nx: Int
    let py: Int, px: Int
    let wavelet: Wavelet2D

    public init(ny: Int, nx: Int, levels: Int = 3) throws {
        self.ny = ny; self.nx = nx
        let m = 1 << levels
        py = (ny + m - 1) / m * m; px = (nx + m - 1) / m * m
        wavelet = try Wavelet2D(ny: py, nx: px, levels: levels)
    }

    public func prox(_ x: [Float], threshold t: Float, shift: (Int, Int)) -> [Float] {
        var p = [Float](repeating: 0, count: 2 * py * px)
        for y in 0..<ny { for xx in 0..<nx {
            let d = 2 * (((y + shift.0) % py) * px + (xx + shift.1) % px), s = 2 * (y * nx + xx)
            p[d] = x[s]; p[d + 1] = x[s + 1]
        } }
        wavelet.forward(&p)
        for y in 0..<py { for xx in 0..<px {
            let o = 2 * (y * px + xx)
            let mag = (p[o] * p[o] + p[o + 1] * p[o + 1]).squareRoot()
            let scale: Float = mag > t ? (mag - t) / mag : 0
            p[o] *= scale; p[o + 1] *= scale
        } }
        wavelet.inverse(&p)
        var out = [Float](repeating: 0, count: 2 * ny * nx)
        for y in 0..<ny { for xx in 0..<nx {
            let s = 2 * (((y + shift.0) % py) * px + (xx + shift.1) % px), d = 2 * (y * nx + xx)
            out[d] = p[s]; out[d + 1] = p[s + 1]
        } }
        return out
    }
}
