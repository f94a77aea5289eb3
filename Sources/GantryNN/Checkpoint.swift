import GantryCore

extension Tensor {
    /// Gradient checkpointing: runs `body` without recording its intermediate activations, and
    /// re-runs it with recording during backward to get the gradients. Parameters used inside `body`
    /// receive their gradients as usual (the replay uses them directly); list them in `parameters`
    /// so the output is recorded even when no input needs a gradient (a first step from constant
    /// data). The same hook serves reversible blocks, which recompute their inputs from their
    /// outputs instead of keeping them.
    public static func checkpoint(_ inputs: [Tensor], parameters: [Tensor] = [], _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
        try checkpoint(inputs, parameters: parameters) { [try body($0)] }[0]
    }

    /// Checkpointing of a block with several outputs (a recurrent step: estimate and hidden states).
    /// Each output is its own tensor — nothing is packed and split, so the graph keeps each value
    /// once. The outputs hang from one joint node; back-propagation reaches it after every output
    /// has handed over its gradient (it is their only parent), and it replays the block once.
    public static func checkpoint(_ inputs: [Tensor], parameters: [Tensor] = [], _ body: @escaping ([Tensor]) throws -> [Tensor]) throws -> [Tensor] {
        let outs = try noGrad { try body(inputs) }
        final class Gradients { var values: [[Float]?] = [] }
        let received = Gradients()
        received.values = Array(repeating: nil, count: outs.count)
        let outputs = outs.count
        let joint = result(shape: [1], data: [0], parents: inputs + parameters) { _ in
            let replay = inputs.map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: $0.requiresGrad) }
            // Backward runs outside any noGrad scope, so the replay records its graph; one walk
            // seeded at every output that received a gradient.
            guard let ys = try? body(replay), ys.count == outputs else { return }
            Tensor.backward(from: zip(ys, received.values).compactMap { y, g in g.map { (y, $0) } })
            for (orig, r) in zip(inputs, replay) { if let g = r.grad { orig.accumulate(g) } }
            received.values = []
        }
        return outs.enumerated().map { k, y in
            result(shape: y.shape, data: y.data, parents: [joint]) { g in
                received.values[k] = g
                joint.accumulate([0])
            }
        }
    }
}
