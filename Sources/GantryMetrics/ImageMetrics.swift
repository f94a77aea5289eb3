import GantryCore

/// Image-quality metrics with fastMRI's definitions: for a stack of 2D slices, NMSE = ‖x − y‖²/‖y‖²,
/// PSNR = 10·log10(max(y)² / MSE) and SSIM = mean over slices of scikit-image's
/// `structural_similarity` with 7×7 uniform windows, K1 = 0.01, K2 = 0.03, sample covariance and
/// data range max(y) of the whole reference volume (y the reference, x the estimate).
public enum ImageMetrics {
    public static func nmse(_ x: [Float], reference y: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for i in 0..<min(x.count, y.count) {
            let d = Double(x[i]) - Double(y[i])
            num += d * d; den += Double(y[i]) * Double(y[i])
        }
        return den > 0 ? num / den : .nan
    }

    public static func psnr(_ x: [Float], reference y: [Float], dataRange: Double? = nil) -> Double {
        var mse = 0.0
        for i in 0..<min(x.count, y.count) { let d = Double(x[i]) - Double(y[i]); mse += d * d }
        mse /= Double(max(1, min(x.count, y.count)))
        let r = dataRange ?? Double(y.max() ?? 0)
        return 10 * log10(r * r / max(mse, 1e-30))
    }

    /// SSIM of slices [slices][ny·nx] (row-major, nx fastest).
    public static func ssim(_ x: [Float], reference y: [Float], slices: Int, ny: Int, nx: Int, dataRange: Double? = nil) throws -> Double {
        guard x.count == slices * ny * nx, y.count == x.count else { throw GantryError.invalidArgument("SSIM: sizes differ") }
        guard ny >= 7, nx >= 7 else { throw GantryError.invalidArgument("SSIM needs slices of at least 7×7") }
        let window = SSIMWindow<Double>(dataRange: dataRange ?? Double(y.max() ?? 0))
        var total = 0.0
        for s in 0..<slices {
            let base = s * ny * nx
            var sum = 0.0, count = 0
            for cy in 3..<(ny - 3) { for cx in 3..<(nx - 3) {
                var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
                for dy in -3...3 { for dx in -3...3 {
                    let i = base + (cy + dy) * nx + cx + dx
                    let a = Double(x[i]), b = Double(y[i])
                    sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b
                } }
                sum += window.evaluate(sx: sx, sy: sy, sxx: sxx, syy: syy, sxy: sxy).ssim
                count += 1
            } }
            total += sum / Double(count)
        }
        return total / Double(slices)
    }
}

import Foundation
