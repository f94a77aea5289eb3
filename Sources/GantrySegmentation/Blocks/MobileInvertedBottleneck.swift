import GantryCore
import GantryNN

/// MobileNetV2's inverted residual body (without its skip, which the reversible coupling supplies):
/// 1×1×1 expansion by `expansion`, instance norm, ReLU; depthwise 3×3×3, instance norm, ReLU;
/// 1×1×1 linear projection back, instance norm — no non-linearity after the projection.
/// Names `<prefix>.expand.conv.…`, `<prefix>.depthwise.conv.…`, `<prefix>.project.conv.…`.
struct MobileInvertedBottleneck {
    let prefix: String
    let channels: Int
    let expansion: Int
    let dims: Int

    func callAsFunction(_ x: Tensor, _ p: ParameterStore) throws -> Tensor {
        let hidden = channels * expansion
        // conv, instance norm, then the activation: one pass over the conv's output when no backward will run
        func conv(_ name: String, _ input: Tensor, _ cin: Int, _ cout: Int, kernel: Int, groups: Int, then activation: FusedActivation?) throws -> Tensor {
            let k = Array(repeating: kernel, count: dims)
            let fanIn = cin / groups * k.reduce(1, *)
            let (w, b) = p.convolution("\(prefix).\(name).conv", weight: [cout, cin / groups] + k, outChannels: cout, fanIn: fanIn)
            return try input.conv(w, bias: b, .uniform(padding: (kernel - 1) / 2, groups: groups, dims: dims))
                .normalizedInPlace(.group(groups: cout, weight: nil, bias: nil, eps: 1e-5), activation: activation)
        }
        let e = try conv("expand", x, channels, hidden, kernel: 1, groups: 1, then: .relu)
        let d = try conv("depthwise", e, hidden, hidden, kernel: 3, groups: hidden, then: .relu)
        return try conv("project", d, hidden, channels, kernel: 1, groups: 1, then: nil)
    }
}

/// A stage of `depth` reversible couplings whose F and G are mobile inverted bottlenecks on half the
/// channels (`<prefix>.<j>.f…`, `<prefix>.<j>.g…`). `reversible` false runs the same couplings with
/// every activation kept (the reference the reversible gradients are checked against).
struct ReversibleMBStage {
    let prefix: String
    let channels: Int
    let depth: Int
    let expansion: Int
    let dims: Int

    func couplings(_ p: ParameterStore) -> [ReversibleCoupling] {
        (0..<depth).map { j in
            let f = MobileInvertedBottleneck(prefix: "\(prefix).\(j).f", channels: channels / 2, expansion: expansion, dims: dims)
            let g = MobileInvertedBottleneck(prefix: "\(prefix).\(j).g", channels: channels / 2, expansion: expansion, dims: dims)
            return ReversibleCoupling(f: { try f($0, p) }, g: { try g($0, p) })
        }
    }

    func callAsFunction(_ x: Tensor, _ p: ParameterStore, reversible: Bool) throws -> Tensor {
        let cs = couplings(p)
        if reversible { return try Tensor.reversibleSequence(x, cs) }
        return try cs.reduce(x) { try $1.forward($0) }
    }
}
