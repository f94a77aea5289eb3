/// The structural similarity of one window, as fastMRI and scikit-image define it (uniform
/// windows, K1 = 0.01, K2 = 0.03, sample covariance): the one place both the SSIM metric
/// (GantryMetrics, in Double) and the SSIM loss (GantryNN, in Float, with its gradient) take it from.
public struct SSIMWindow<T: BinaryFloatingPoint> {
    /// fastMRI's window side.
    public static var standardSide: Int { 7 }
    public let c1: T, c2: T
    /// Voxels per window and the sample-covariance factor n/(n − 1).
    public let count: T, covariance: T

    public init(dataRange: T, side: Int = Self.standardSide) {
        c1 = (0.01 * dataRange) * (0.01 * dataRange)
        c2 = (0.03 * dataRange) * (0.03 * dataRange)
        count = T(side * side)
        covariance = count / (count - 1)
    }

    /// One window's SSIM from its sums of x, y, x², y², xy, with the window means and the partial
    /// derivatives of SSIM with respect to x's mean, x's variance and the covariance (for a loss).
    public func evaluate(sx: T, sy: T, sxx: T, syy: T, sxy: T) -> (ssim: T, mx: T, my: T, dMx: T, dVx: T, dVxy: T) {
        let mx = sx / count, my = sy / count
        let vx = covariance * (sxx / count - mx * mx), vy = covariance * (syy / count - my * my), vxy = covariance * (sxy / count - mx * my)
        let a1 = 2 * mx * my + c1, a2 = 2 * vxy + c2, b1 = mx * mx + my * my + c1, b2 = vx + vy + c2
        return ((a1 * a2) / (b1 * b2), mx, my,
                (2 * my * a2 * b1 * b2 - a1 * a2 * 2 * mx * b2) / (b1 * b1 * b2 * b2),
                -(a1 * a2) / (b1 * b2 * b2),
                2 * a1 / (b1 * b2))
    }
}
