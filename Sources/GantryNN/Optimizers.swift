import Foundation
import GantryCore

/// Learning-rate schedules (as nnU-Net's poly and the cosine annealing schedule).
public enum LearningRateSchedule: Sendable {
    case constant
    /// lr · (1 − step/total)^power
    case poly(power: Double, total: Int)
    /// lr · ½(1 + cos(π · step/total))
    case cosine(total: Int)

    public func factor(step: Int) -> Double {
        switch self {
        case .constant: return 1
        case .poly(let power, let total): return pow(max(0, 1 - Double(step) / Double(max(total, 1))), power)
        case .cosine(let total): return 0.5 * (1 + cos(.pi * min(1, Double(step) / Double(max(total, 1)))))
        }
    }
}

/// Optimisers over a list of parameters (PyTorch's update rules, so hyper-parameters carry over).
public final class Optimizer {
    public enum Kind: Sendable {
        case sgd(momentum: Double, nesterov: Bool)
        /// Adam; AdamW when `decoupledWeightDecay`.
        case adam(beta1: Double, beta2: Double, eps: Double, decoupledWeightDecay: Bool)
    }

    public let parameters: [Tensor]
    public let kind: Kind
    public var learningRate: Double
    public var weightDecay: Double
    public var schedule: LearningRateSchedule
    public private(set) var step = 0
    var m: [[Float]], v: [[Float]]

    public init(_ parameters: [Tensor], kind: Kind, learningRate: Double, weightDecay: Double = 0, schedule: LearningRateSchedule = .constant) {
        self.parameters = parameters; self.kind = kind; self.learningRate = learningRate; self.weightDecay = weightDecay; self.schedule = schedule
        m = parameters.map { [Float](repeating: 0, count: $0.count) }
        v = m
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Scales all gradients so their global ℓ2 norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        var total = 0.0
        for p in parameters { for g in p.grad ?? [] { total += Double(g) * Double(g) } }
        let norm = total.squareRoot()
        if norm > maxNorm, norm > 0 {
            let s = Float(maxNorm / norm)
            for p in parameters { if let g = p.grad { p.grad = g.map { $0 * s } } }
        }
        return norm
    }

    /// One update with the current gradients.
    public func update() {
        let lr = learningRate * schedule.factor(step: step)
        step += 1
        for (i, p) in parameters.enumerated() {
            guard let g0 = p.grad else { continue }
            var g = g0
            switch kind {
            case .sgd(let momentum, let nesterov):
                if weightDecay != 0 { for j in 0..<g.count { g[j] += Float(weightDecay) * p.data[j] } }
                if momentum != 0 {
                    for j in 0..<g.count { m[i][j] = Float(momentum) * m[i][j] + g[j] }
                    if nesterov { for j in 0..<g.count { g[j] += Float(momentum) * m[i][j] } } else { g = m[i] }
                }
                for j in 0..<g.count { p.data[j] -= Float(lr) * g[j] }
            case .adam(let b1, let b2, let eps, let decoupled):
                if weightDecay != 0 {
                    if decoupled { for j in 0..<g.count { p.data[j] -= Float(lr * weightDecay) * p.data[j] } }
                    else { for j in 0..<g.count { g[j] += Float(weightDecay) * p.data[j] } }
                }
                let c1 = 1 - pow(b1, Double(step)), c2 = 1 - pow(b2, Double(step))
                for j in 0..<g.count {
                    m[i][j] = Float(b1) * m[i][j] + Float(1 - b1) * g[j]
                    v[i][j] = Float(b2) * v[i][j] + Float(1 - b2) * g[j] * g[j]
                    let mh = Double(m[i][j]) / c1, vh = Double(v[i][j]) / c2
                    p.data[j] -= Float(lr * mh / (vh.squareRoot() + eps))
                }
            }
        }
    }
}
