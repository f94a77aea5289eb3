import Foundation
import GantryCore
import GantryLinearAlgebra
import GantryNN

/// ESPIRiT coil sensitivities (Uecker et al. 2014), as BART's `ecalib -m 1`: k×k patches of the
/// calibration region form the calibration matrix; its dominant right singular vectors (σ above
/// `threshold`·σ_max) span the signal subspace; transformed to image space they give, per pixel, a
/// coil×coil matrix whose top eigenvector is the sensitivity and whose eigenvalue is ≈ 1 inside the
/// object (maps are zero where it is below `crop`). Phase is referenced to the first coil.
public enum ESPIRiT {
    public struct Options: Sendable {
        public var calibration = 24
        public var kernel = 6
        public var threshold: Float = 0.001
        public var crop: Float = 0.8
        public init(calibration: Int = 24, kernel: Int = 6, threshold: Float = 0.001, crop: Float = 0.8) {
            self.calibration = calibration; self.kernel = kernel; self.threshold = threshold; self.crop = crop
        }
    }

    /// Maps [coils, ny, nx] and the per-pixel eigenvalues [ny, nx].
    public static func maps(kspace: [Float], mask: [Float]? = nil, coils nc: Int, ny: Int, nx: Int, options o: Options = Options()) throws -> (maps: [Float], eigenvalues: [Float]) {
        let box: (width: Int, height: Int) = mask.map { CoilSensitivity.calibrationBox(mask: $0, ny: ny, nx: nx) } ?? (nx, ny)
        let calY = min(o.calibration, box.height, ny), calX = min(o.calibration, box.width, nx), k = o.kernel
        guard calY > k, calX > k else { throw GantryError.invalidArgument("ESPIRiT: calibration region \(calX)×\(calY) is not larger than the \(k)×\(k) kernel") }
        let y0 = ny / 2 - calY / 2, x0 = nx / 2 - calX / 2
        let n = ny * nx, kk = k * k * nc
        // Calibration matrix: one row per patch position, columns (coil, dy, dx).
        let py = calY - k + 1, px = calX - k + 1
        var a = [Float](repeating: 0, count: 2 * py * px * kk)
        for r in 0..<(py * px) {
            let (sy, sx) = (y0 + r / px, x0 + r % px)
            for c in 0..<nc { for dy in 0..<k { for dx in 0..<k {
                let src = 2 * (c * n + (sy + dy) * nx + sx + dx), dst = 2 * (r * kk + (c * k + dy) * k + dx)
                a[dst] = kspace[src]; a[dst + 1] = kspace[src + 1]
            } } }
        }
        let (values, vectors) = try HermitianEigen.decompose(try BLAS.gram(a, rows: py * px, cols: kk), n: kk)
        let sMax = max(values.last ?? 0, 0).squareRoot()
        let kept = (0..<kk).filter { max(values[$0], 0).squareRoot() > o.threshold * sMax }
        guard !kept.isEmpty else { throw GantryError.invalidArgument("ESPIRiT: no signal in the calibration region") }
        // Signal-subspace projector P = Σ_j v_j v_jᴴ (K×K) = AᴴA for the rows A_j = v_jᴴ. The per-pixel
        // matrix G_{c1,c2}(x) = (1/k²) Σ_d e^{2πi d·x/N} Σ_{p1−p2=d} conj(P[(c1,p1),(c2,p2)])
        // is one small (2k−1)² correlation per coil pair, zero-padded and inverse FFT'd, and no
        // per-pixel sum over kernels. G(x) is Hermitian (P is), so only the nc(nc+1)/2 pairs c1 ≤ c2
        // are transformed — half the FFTs and memory of all nc² — and the others are their conjugates.
        var signal = [Float](repeating: 0, count: 2 * kept.count * kk)
        for (j, e) in kept.enumerated() {
            for a in 0..<kk { signal[2 * (j * kk + a)] = vectors[e][2 * a]; signal[2 * (j * kk + a) + 1] = -vectors[e][2 * a + 1] }
        }
        let proj = try BLAS.gram(signal, rows: kept.count, cols: kk)
        let pairs = (0..<nc).flatMap { c1 in (c1..<nc).map { (c1, $0) } }
        var gimg = [Float](repeating: 0, count: 2 * pairs.count * n)
        let scale = Float(Double(n).squareRoot() / Double(k * k))
        for (pl, (c1, c2)) in pairs.enumerated() {
            let plane = pl * n
            for p1 in 0..<(k * k) { for p2 in 0..<(k * k) {
                let (dy, dx) = (p1 / k - p2 / k, p1 % k - p2 % k)
                let a = c1 * k * k + p1, b = c2 * k * k + p2
                let o = 2 * (plane + (ny / 2 + dy) * nx + nx / 2 + dx)
                gimg[o] += scale * proj[2 * (a * kk + b)]
                gimg[o + 1] -= scale * proj[2 * (a * kk + b) + 1]
            } }
        }
        try FFTPlan.plan(shape: [ny, nx], batch: pairs.count).inverse(&gimg)
        // Per pixel: top eigenvector of G by power iteration (warm-started from the left neighbour,
        // at most 40 steps).
        var maps = [Float](repeating: 0, count: 2 * nc * n)
        var eig = [Float](repeating: 0, count: n)
        let rows = ny
        maps.withUnsafeMutableBufferPointer { mb in
            eig.withUnsafeMutableBufferPointer { eb in
                let (mp, ep) = (mb.baseAddress!, eb.baseAddress!)
                Parallel.forEach(rows) { yy in
                    // The row's nc² matrices gathered plane by plane (contiguous runs, not pixel by
                    // pixel across nc² planes n apart), stored per pixel as columns split into real
                    // and imaginary parts, each column padded to whole 8-lane vectors: the
                    // matrix-vector product then runs 8 rows at a time with the scalar loop's
                    // arithmetic in each lane (same sums in the same order).
                    let lanes = (nc + 7) / 8 * 8, chunks = lanes / 8, pixel = nc * lanes
                    var colRe = [Float](repeating: 0, count: nx * pixel), colIm = colRe
                    for (pl, (c1, c2)) in pairs.enumerated() {
                        let base = 2 * (pl * n + yy * nx)
                        for xx in 0..<nx {
                            let (re, im) = (gimg[base + 2 * xx], gimg[base + 2 * xx + 1])
                            colRe[xx * pixel + c2 * lanes + c1] = re; colIm[xx * pixel + c2 * lanes + c1] = im
                            if c1 != c2 { colRe[xx * pixel + c1 * lanes + c2] = re; colIm[xx * pixel + c1 * lanes + c2] = -im }
                        }
                    }
                    var vRe = [Float](repeating: 0, count: lanes), vIm = vRe, tRe = vRe, tIm = vRe
                    for c in 0..<nc { vRe[c] = 1 }
                    var v = [Float](repeating: 0, count: 2 * nc)
                    for xx in 0..<nx {
                        let p = yy * nx + xx
                        var lambda: Float = 0
                        colRe.withUnsafeBufferPointer { grb in colIm.withUnsafeBufferPointer { gib in
                        vRe.withUnsafeMutableBufferPointer { vrb in vIm.withUnsafeMutableBufferPointer { vib in
                        tRe.withUnsafeMutableBufferPointer { trb in tIm.withUnsafeMutableBufferPointer { tib in
                            let (gr, gi) = (grb.baseAddress! + xx * pixel, gib.baseAddress! + xx * pixel)
                            let (vr, vi, tr, ti) = (vrb.baseAddress!, vib.baseAddress!, trb.baseAddress!, tib.baseAddress!)
                            for _ in 0..<40 {
                                for chunk in 0..<chunks {
                                    var re = SIMD8<Float>(repeating: 0), im = SIMD8<Float>(repeating: 0)
                                    for c2 in 0..<nc {
                                        let o = c2 * lanes + 8 * chunk
                                        let g = UnsafeRawPointer(gr + o).loadUnaligned(as: SIMD8<Float>.self)
                                        let h = UnsafeRawPointer(gi + o).loadUnaligned(as: SIMD8<Float>.self)
                                        let (a, b) = (vr[c2], vi[c2])
                                        re += g * a - h * b; im += g * b + h * a
                                    }
                                    UnsafeMutableRawPointer(tr + 8 * chunk).storeBytes(of: re, as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(ti + 8 * chunk).storeBytes(of: im, as: SIMD8<Float>.self)
                                }
                                var norm: Float = 0
                                for c1 in 0..<nc { norm += tr[c1] * tr[c1] + ti[c1] * ti[c1] }
                                norm = norm.squareRoot()
                                if norm == 0 { break }
                                lambda = norm
                                var change: Float = 0
                                for c in 0..<nc {
                                    let (a, b) = (tr[c] / norm, ti[c] / norm)
                                    change += (a - vr[c]) * (a - vr[c]); change += (b - vi[c]) * (b - vi[c])
                                    vr[c] = a; vi[c] = b
                                }
                                // Warm-started from the neighbour; stop once a step moves the unit
                                // vector by less than 1e-5. The error left is that step over (1 − λ₂/λ₁):
                                // under 1e-4 at the slowest ratio seen in brain data (≈ 0.86), far below
                                // what SENSE notices (the maps' cosine with BART's is above 0.99).
                                if change < 1e-10 { break }
                            }
                        } } } } } }
                        for c in 0..<nc { v[2 * c] = vRe[c]; v[2 * c + 1] = vIm[c] }
                        ep[p] = lambda
                        // phase relative to coil 0
                        let m0 = (v[0] * v[0] + v[1] * v[1]).squareRoot()
                        let (pr, pi) = m0 > 0 ? (v[0] / m0, -v[1] / m0) : (1, 0)
                        for c in 0..<nc {
                            let (vr, vi) = (v[2 * c], v[2 * c + 1])
                            let keep: Float = lambda >= o.crop ? 1 : 0
                            mp[2 * (c * n + p)] = keep * (vr * pr - vi * pi)
                            mp[2 * (c * n + p) + 1] = keep * (vr * pi + vi * pr)
                        }
                    }
                }
            }
        }
        return (maps, eig)
    }
}
