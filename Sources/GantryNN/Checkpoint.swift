import GantryCore

extension Tensor {
    /// Gradient checkpointing: runs `body` without recording its intermediate activations, and
    /// re-runs it with recording during backward to get the gradients. Parameters used inside `body`
    /// receive their gradients as usual (the replay uses them directly); list them in `parameters`
    /// so the output is recorded even when no input needs a gradient (a first step from constant
    /// data). The same hook serves reversible blocks, which recompute their inputs from their
    /// outputs instead of keeping them.
    public static func checkpoint(_ inputs: [Tensor], parameters: [Tensor] = [], _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
        let out = try noGrad { try body(inputs) }
        return result(shape: out.shape, data: out.data, parents: inputs + parameters) { gy in
            let replay = inputs.map { i -> Tensor in
                let t = Tensor(shape: i.shape, data: i.data, requiresGrad: i.requiresGrad)
                return t
            }
            // Backward runs outside any noGrad scope, so the replay records its graph.
            guard let y = try? body(replay) else { return }
            y.backward(seed: gy)
            for (orig, r) in zip(inputs, replay) { if let g = r.grad { orig.accumulate(g) } }
        }
    }
}
