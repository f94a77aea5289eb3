import Foundation
import GantryCore
import GantryNN

/// atommic's recurrent-reconstruction loss: every estimate of every cascade is compared with the
/// target as max-normalised magnitudes, 0.1·L1 + 0.9·(1 − SSIM) (SSIM data range = the pair's
/// max − min), weighted log-uniformly from 0.1 to 1 over time steps and over cascades (later
/// estimates count more; torch.logspace(−1, 0, n)), each sum divided by its count.
///
/// atommic divides every estimate by its own maximum, which leaves the output's overall intensity
/// free (any scaling of an estimate costs nothing), and PSNR/NMSE against the fully sampled image
/// then depend on where training happened to leave it (a GRU RIM trained that way here reached a
/// validation SSIM of 0.60 at 11 dB PSNR). `.targetMax` divides estimate and target by the
/// target's maximum instead, which keeps the scale (atommic's `unnormalize_loss_inputs` plays the
/// same role); the shipped models are trained with it.
public struct RIMLoss {
    public enum Normalisation: String, CaseIterable, Sendable {
        /// atommic's default: each magnitude image by its own maximum.
        case ownMax = "own-max"
        /// Estimate and target by the target's maximum (keeps the intensity scale).
        case targetMax = "target-max"
    }
    public var l1Weight: Float = 0.1
    public var ssimWeight: Float = 0.9
    public var normalisation: Normalisation
    public init(normalisation: Normalisation = .ownMax) { self.normalisation = normalisation }

    static func logWeights(_ n: Int) -> [Float] {
        if n == 1 { return [0.1] }
        return (0..<n).map { i -> Float in Float(pow(10.0, -1.0 + Double(i) / Double(n - 1))) }
    }

    public func callAsFunction(_ estimates: [[Tensor]], target: Tensor) throws -> Tensor {
        let tm = try target.complexMagnitude()
        guard let tmax = tm.data.max(), tmax > 0 else { throw GantryError.invalidArgument("the target image is empty") }
        let t = tm.scaled(1 / tmax).detached()
        let cw = Self.logWeights(estimates.count)
        var total: Tensor? = nil
        for (c, steps) in estimates.enumerated() {
            let tw = Self.logWeights(steps.count)
            var cascade: Tensor? = nil
            for (i, x) in steps.enumerated() {
                let p = normalisation == .ownMax ? try x.complexMagnitude().dividedByMax() : try x.complexMagnitude().scaled(1 / tmax)
                let all = p.data + t.data
                let range = (all.max() ?? 1) - (all.min() ?? 0)
                let term = (try p.l1(t).scaled(l1Weight) + p.ssimLoss(t, dataRange: max(range, 1e-6)).scaled(ssimWeight)).scaled(tw[i])
                cascade = cascade.map { $0 + term } ?? term
            }
            guard let cascade else { continue }
            let weighted = cascade.scaled(cw[c] / Float(steps.count))
            total = total.map { $0 + weighted } ?? weighted
        }
        guard let total else { throw GantryError.invalidArgument("no estimates to compare") }
        return total.scaled(1 / Float(estimates.count))
    }
}
