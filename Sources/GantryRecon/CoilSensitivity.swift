import Foundation
import GantryCore

/// Coil sensitivity estimation from the auto-calibration region (as DIRECT/atommic's RSS-normalised
/// estimate): keep only the fully sampled centre of k-space (Hann-windowed to limit ringing), inverse
/// FFT each coil to a low-resolution image, and divide by the root-sum-of-squares over coils, so
/// Σ_c |S_c|² = 1 wherever there is signal.
public enum CoilSensitivity {
    /// The width (in columns) of the contiguous fully sampled band around the k-space centre of a
    /// column mask ([ny, nx]); for 2D masks, the largest centred square.
    public static func calibrationWidth(mask: [Float], ny: Int, nx: Int) -> Int {
        let cy = ny / 2, cx = nx / 2
        // Columns fully sampled in the centre row band.
        func sampled(_ y: Int, _ x: Int) -> Bool { mask[y * nx + x] > 0 }
        var w = 0
        while w < nx / 2, cx - w - 1 >= 0, cx + w < nx, sampled(cy, cx - w - 1), sampled(cy, cx + w) { w += 1 }
        return 2 * w
    }

    /// Sensitivity maps [coils, ny, nx] from k-space [coils, ny, nx] and its mask.
    public static func fromCalibration(kspace: [Float], mask: [Float], coils: Int, ny: Int, nx: Int) throws -> [Float] {
        let acs = calibrationWidth(mask: mask, ny: ny, nx: nx)
        guard acs >= 4 else { throw GantryError.invalidArgument("no fully sampled calibration region at the k-space centre (found \(acs) lines); give coil maps or use more centre lines") }
        let n = ny * nx
        let cx = nx / 2
        // 2D-mask calibration (square) or 1D (full columns): the window spans the band in x and,
        // for square regions, in y too.
        let isColumns = (0..<ny).allSatisfy { mask[$0 * nx + cx] > 0 }
        let acsY = isColumns ? ny : acs
        var low = [Float](repeating: 0, count: 2 * coils * n)
        for y in 0..<ny {
            let dy = Double(y - ny / 2) / Double(max(acsY, 1))
            if abs(dy) >= 0.5 && !isColumns { continue }
            let wy = isColumns ? 1 : 0.5 + 0.5 * cos(2 * .pi * dy)
            for x in 0..<nx {
                let dx = Double(x - cx) / Double(acs)
                guard abs(dx) < 0.5 else { continue }
                let w = Float(wy * (0.5 + 0.5 * cos(2 * .pi * dx)))
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
