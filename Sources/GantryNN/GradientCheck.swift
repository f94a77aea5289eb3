/// Central finite differences of a scalar function of one tensor's values, compared with autograd —
/// PyTorch's `gradcheck` for Gantry: every differentiable op, here or in a module that defines its
/// own (the SENSE data term, recurrent cells), is tested with it.
public enum GradientCheck {
    /// Max relative error over `samples` coordinates of `input` (all when nil).
    public static func check(_ input: Tensor, samples: Int? = nil, eps: Float = 1e-2, _ f: () throws -> Tensor) throws -> Float {
        input.zeroGrad()
        let loss = try f()
        loss.backward()
        let analytic = input.grad ?? [Float](repeating: 0, count: input.count)
        let idx = samples.map { s in (0..<s).map { ($0 * 7919) % input.count } } ?? Array(0..<input.count)
        var worst: Float = 0
        for i in idx {
            let saved = input.data[i]
            input.data[i] = saved + eps
            let up = try Tensor.noGrad { try f() }.data[0]
            input.data[i] = saved - eps
            let down = try Tensor.noGrad { try f() }.data[0]
            input.data[i] = saved
            let numeric = (Double(up) - Double(down)) / Double(2 * eps)
            let err = abs(Double(analytic[i]) - numeric) / max(1, abs(numeric))
            worst = max(worst, Float(err))
        }
        return worst
    }
}
