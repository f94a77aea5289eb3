import Foundation
import GantryCore

/// Coil sensitivity estimation from the auto-calibration region (as DIRECT/atommic's RSS-normalised
/// estimate): keep only the fully sampled centre of k-space (Hann-windowed to limit ringing), inverse
/// FFT each coil to a low-resolution image, and divide by the root-sum-of-squares over coils, so
/// Σ_c |S_c|² = 1 wherever there is signal.
public enum CoilSensitivity {
    /// Size of the fully sampled box around the k-space centre: contiguous sampled samples along the
    /// centre row (width, x) and the centre column (height, y). A 1D column mask gives
    /// (band, ny); a row mask (ny, …) gives (nx, band).
    public static func calibrationBox(mask: [Float], ny: Int, nx: Int) -> (width: Int, height: Int) {
        let cy = ny / 2, cx = nx / 2
        func run(_ n: Int, _ c: Int, _ sampled: (Int) -> Bool) -> Int {
            guard sampled(c) else { return 0 }
            var lo = c, hi = c
            while lo - 1 >= 0 && sampled(lo - 1) { lo -= 1 }
            while hi + 1 < n && sampled(hi + 1) { hi += 1 }
            // symmetric extent around the centre, as the calibration region is centred
            return hi - lo + 1
        }
        return (run(nx, cx) { mask[cy * nx + $0] > 0 }, run(ny, cy) { mask[$0 * nx + cx] > 0 })
    }

    /// Width of the calibration band of a column mask (kept for callers that only need that).
    public static func calibrationWidth(mask: [Float], ny: Int, nx: Int) -> Int {
        calibrationBox(mask: mask, ny: ny, nx: nx).width
    }

    /// Sensitivity maps [coils, ny, nx] from k-space [coils, ny, nx] and its mask.
    public static func fromCalibration(kspace: [Float], mask: [Float], coils: Int, ny: Int, nx: Int) throws -> [Float] {
        let box = calibrationBox(mask: mask, ny: ny, nx: nx)
        guard min(box.width, box.height) >= 4, box.width < nx || box.height < ny else {
            throw GantryError.invalidArgument("no fully sampled calibration region at the k-space centre (found \(box.width)×\(box.height)); give coil maps or use more centre lines")
        }
        let n = ny * nx
        // Hann window over the box along each axis where the box is narrower than the grid.
        func window(_ i: Int, _ c: Int, _ w: Int, _ full: Int) -> Double {
            if w >= full { return 1 }
            let d = Double(i - c) / Double(w)
            return abs(d) < 0.5 ? 0.5 + 0.5 * cos(2 * .pi * d) : 0
        }
        var low = [Float](repeating: 0, count: 2 * coils * n)
        for y in 0..<ny {
            let wy = window(y, ny / 2, box.height, ny)
            if wy == 0 { continue }
            for x in 0..<nx {
                let w = Float(wy * window(x, nx / 2, box.width, nx))
                if w == 0 { continue }
                for c in 0..<coils {
                    let o = 2 * (c * n + y * nx + x)
                    low[o] = kspace[o] * w; low[o + 1] = kspace[o + 1] * w
                }
            }
        }
        try FFTPlan.plan(shape: [ny, nx], batch: coils).inverse(&low)
        let rss = ComplexBuffer.rss(low, coils: coils, pixels: n)
        let floor = (rss.max() ?? 0) * 1e-3
        for c in 0..<coils {
            for p in 0..<n {
                let o = 2 * (c * n + p)
                let r = max(rss[p], floor)
                low[o] /= r; low[o + 1] /= r
            }
        }
        return low
    }
}
