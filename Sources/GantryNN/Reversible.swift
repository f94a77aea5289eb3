import GantryCore

/// One additive reversible coupling (RevNet; memcnn/RevTorch; Brügger's partially reversible
/// U-Net): the channels split into contiguous halves x1, x2, and
///     y1 = x1 + F(x2),  y2 = x2 + G(y1)      inverse:  x2 = y2 − G(y1),  x1 = y1 − F(x2).
/// F and G map C/2 channels to C/2 channels and may be any (deterministic) sub-networks.
public struct ReversibleCoupling {
    public let f: (Tensor) throws -> Tensor
    public let g: (Tensor) throws -> Tensor

    public init(f: @escaping (Tensor) throws -> Tensor, g: @escaping (Tensor) throws -> Tensor) {
        self.f = f; self.g = g
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        let c = x.shape[1]
        guard c % 2 == 0 else { throw GantryError.invalidArgument("reversible coupling needs an even channel count, got \(c)") }
        let h = try x.splitChannels([c / 2, c / 2])
        let y1 = h[0] + (try f(h[1]))
        let y2 = h[1] + (try g(y1))
        return try Tensor.concatChannels([y1, y2])
    }

    public func inverse(_ y: Tensor) throws -> Tensor {
        let c = y.shape[1]
        let h = try y.splitChannels([c / 2, c / 2])
        let x2 = h[1] - (try g(h[0]))
        let x1 = h[0] - (try f(x2))
        return try Tensor.concatChannels([x1, x2])
    }
}

extension Tensor {
    /// Runs reversible couplings in sequence keeping no activation inside: the forward pass records
    /// nothing; backward rebuilds each coupling's input from its output (`inverse`), replays that one
    /// coupling with recording, and back-propagates through it — so memory holds one coupling's graph
    /// at a time, for ~⅓ more arithmetic (one extra F and G per coupling). Parameters used by F and G
    /// receive their gradients as usual.
    public static func reversibleSequence(_ x: Tensor, _ couplings: [ReversibleCoupling]) throws -> Tensor {
        let y = try noGrad { try couplings.reduce(x) { try $1.forward($0) } }
        // F and G's parameters need this node recorded even when the input itself is a constant.
        let parent = x.requiresGrad ? x : Tensor(shape: [1], data: [0], requiresGrad: true)
        return result(shape: y.shape, data: y.data, parents: [parent]) { gy in
            var out = Tensor(shape: y.shape, data: y.data)
            var grad = gy
            for c in couplings.reversed() {
                guard let input = try? noGrad({ try c.inverse(out) }) else { return }
                let replay = Tensor(shape: input.shape, data: input.data, requiresGrad: true)
                guard let z = try? c.forward(replay) else { return }
                z.backward(seed: grad)
                grad = replay.grad ?? [Float](repeating: 0, count: replay.count)
                out = input
            }
            x.accumulate(grad)
        }
    }
}
