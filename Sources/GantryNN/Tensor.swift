import Foundation
import GantryCore

/// A Float32 tensor in row-major (PyTorch) order — `N C H W` or `N C D H W` for images — with
/// reverse-mode automatic differentiation. A reference type: operations record how they were made
/// (`backwardFn`) so `backward()` can walk the graph from a scalar loss to every leaf that
/// `requiresGrad`. Inside `Tensor.noGrad { … }` nothing is recorded (inference allocates no tape).
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public var data: [Float]
    public var requiresGrad: Bool
    /// Accumulated gradient (same shape), after `backward()`.
    public var grad: [Float]?
    /// Parents in the graph and the function that pushes this tensor's gradient into them.
    var parents: [Tensor] = []
    var backwardFn: (([Float]) -> Void)?
    public var name: String?

    /// Tensor work allocates and frees large buffers constantly: configure the allocator once.
    static let allocatorConfigured: Void = MemoryPolicy.reuseLargeBlocks()

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        _ = Tensor.allocatorConfigured
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) does not match \(data.count) values")
        self.shape = shape; self.data = data; self.requiresGrad = requiresGrad
    }

    /// Checked initialiser for data that came from outside (files, users).
    public static func make(shape: [Int], data: [Float], requiresGrad: Bool = false) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == data.count else {
            throw GantryError.invalidArgument("tensor shape \(shape) does not match \(data.count) values")
        }
        return Tensor(shape: shape, data: data, requiresGrad: requiresGrad)
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// Deterministic uniform(−bound, bound) values (PyTorch's kaiming-uniform style initialisation uses
    /// bound = 1/sqrt(fan_in) for biases and sqrt(6/((1+a²)·fan_in)) for weights).
    public convenience init(uniform shape: [Int], bound: Float, seed: UInt64, requiresGrad: Bool = true) {
        var g = SeededRandom(seed: seed)
        let n = shape.reduce(1, *)
        self.init(shape: shape, data: (0..<n).map { _ in Float(g.uniform(-Double(bound), Double(bound))) }, requiresGrad: requiresGrad)
    }

    public var count: Int { data.count }
    public var description: String { "Tensor\(shape)" }

    // MARK: Recording

    /// Set inside `noGrad`. Task-local (thread-local outside Swift tasks), as PyTorch's grad mode is
    /// thread-local: subjects run on concurrent threads, and one subject's inference must never
    /// switch recording on or off for another's.
    @TaskLocal static var recordingSuspended = false

    /// Whether ops record the graph now (false inside `noGrad` on this thread or task).
    public static var isRecording: Bool { !recordingSuspended }

    /// Runs `body` without recording the graph (inference).
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        try $recordingSuspended.withValue(true) { try body() }
    }

    /// Whether an op on `parents` records a backward pass (recording is on and a parent needs
    /// gradients): what `result` decides, for ops that keep extra state only for that pass.
    static func records(_ parents: [Tensor]) -> Bool {
        !recordingSuspended && parents.contains { $0.requiresGrad }
    }

    /// An op's output: records parents and the backward function when any parent needs gradients.
    /// Public so modules can define their own differentiable ops (e.g. the SENSE data term).
    public static func result(shape: [Int], data: [Float], parents: [Tensor], backward: @escaping ([Float]) -> Void) -> Tensor {
        let needs = records(parents)
        let t = Tensor(shape: shape, data: data, requiresGrad: needs)
        if needs { t.parents = parents; t.backwardFn = backward }
        return t
    }

    /// Adds `g` into this tensor's gradient (a custom op's backward calls it on its parents).
    public func accumulate(_ g: [Float]) {
        guard requiresGrad else { return }
        guard var acc = grad else { grad = g; return }
        grad = nil  // keep the buffer uniquely referenced while adding in place
        Buffers.add(g, into: &acc)
        grad = acc
    }

    /// Back-propagates from this tensor (a scalar loss unless `seed` is given).
    public func backward(seed: [Float]? = nil) {
        Tensor.backward(from: [(self, seed ?? [Float](repeating: 1, count: count))])
    }

    /// Back-propagates from several outputs at once, each with its gradient (a block with several
    /// outputs, replayed by a checkpoint).
    public static func backward(from roots: [(Tensor, [Float])]) {
        // Topological order by depth-first search.
        var order: [Tensor] = []
        var seen = Set<ObjectIdentifier>()
        func visit(_ t: Tensor) {
            guard seen.insert(ObjectIdentifier(t)).inserted else { return }
            for p in t.parents where p.requiresGrad { visit(p) }
            order.append(t)
        }
        for (t, g) in roots {
            visit(t)
            if var acc = t.grad { t.grad = nil; Buffers.add(g, into: &acc); t.grad = acc } else { t.grad = g }
        }
        // Interior nodes are released as soon as their gradient has been passed on (PyTorch frees
        // saved tensors the same way): the node's gradient, the activations its backward captured,
        // and — once the walk drops it — its own values. Peak memory is then the forward graph
        // plus the gradients in flight, not the graph plus a gradient for every node. Leaves keep
        // their gradients; a graph can be back-propagated once.
        while let t = order.popLast() {
            guard let fn = t.backwardFn else { continue }
            let g = t.grad
            t.grad = nil; t.backwardFn = nil; t.parents = []
            if let g { fn(g) }
        }
    }

    /// The graph parents (for tests of what a block keeps alive).
    public var parentsForTesting: [Tensor] { parents }

    /// Clears gradients of this tensor (leaves keep `requiresGrad`).
    public func zeroGrad() { grad = nil }

    /// Cuts the graph here (a leaf with the same values).
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }
}

extension Tensor {
    /// An op's output with a per-channel bias ([C] over [N, C, …]) added in place before it becomes
    /// a tensor — one pass over the op's own buffer instead of a second tensor — and the bias
    /// recorded as one more parent whose gradient is Σ dY per channel. Convolutions end here.
    /// `biasApplied`: the op already added it while writing its output.
    static func result(shape: [Int], data: consuming [Float], bias: Tensor?, biasApplied: Bool = false, parents: [Tensor],
                       backward: @escaping ([Float]) -> Void) -> Tensor {
        guard let bias else { return result(shape: shape, data: data, parents: parents, backward: backward) }
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        precondition(bias.count == c, "bias has \(bias.count) values for \(c) channels")
        var out = data
        if !biasApplied {
            let bv = bias.data
            out.withUnsafeMutableBufferPointer { ob in
                guard let op = ob.baseAddress else { return }
                Parallel.forEach(n * c, work: n * c * inner) { j in
                    let v = bv[j % c], p = op + j * inner
                    for i in 0..<inner { p[i] += v }
                }
            }
        }
        return result(shape: shape, data: out, parents: parents + [bias]) { g in
            backward(g)
            bias.accumulate(Buffers.channelSums(g, n: n, c: c, inner: inner))
        }
    }
}
