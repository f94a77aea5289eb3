import GantryCore

/// A network's parameters by PyTorch state-dict name, so MONAI/PyTorch checkpoints load by name.
public final class ParameterStore {
    public private(set) var tensors: [String: Tensor] = [:]
    /// Non-trainable state saved with the weights (batch-norm running statistics).
    public private(set) var buffers: [String: Tensor] = [:]
    var seed: UInt64

    public init(seed: UInt64 = 0) { self.seed = seed }

    /// Creates (or returns) the parameter `name` with PyTorch's default initialisation bound
    /// (kaiming-uniform-like ±1/sqrt(fan_in)).
    public func parameter(_ name: String, shape: [Int], fanIn: Int, constant: Float? = nil) -> Tensor {
        if let t = tensors[name] { return t }
        seed &+= 1
        let t: Tensor
        if let c = constant { t = Tensor(shape: shape, data: [Float](repeating: c, count: shape.reduce(1, *)), requiresGrad: true) }
        else { t = Tensor(uniform: shape, bound: 1 / Float(max(fanIn, 1)).squareRoot(), seed: seed) }
        t.name = name
        tensors[name] = t
        return t
    }

    /// Creates (or returns) the parameter `name` with values from `initialise` (given this store's
    /// next seed and the element count) — for the schemes a reference implementation prescribes
    /// (orthogonal, kaiming-normal, …).
    public func parameter(_ name: String, shape: [Int], initialise: (inout SeededRandom, Int) -> [Float]) -> Tensor {
        if let t = tensors[name] { return t }
        seed &+= 1
        var g = SeededRandom(seed: seed)
        let t = Tensor(shape: shape, data: initialise(&g, shape.reduce(1, *)), requiresGrad: true)
        t.name = name
        tensors[name] = t
        return t
    }

    /// Creates (or returns) the buffer `name`, filled with `value` (PyTorch: running_mean 0, running_var 1).
    public func buffer(_ name: String, count: Int, value: Float) -> Tensor {
        if let t = buffers[name] { return t }
        let t = Tensor(shape: [count], data: [Float](repeating: value, count: count))
        t.name = name
        buffers[name] = t
        return t
    }

    /// Parameters and buffers under their state-dict names (what a checkpoint holds).
    public var stateDict: [String: Tensor] { tensors.merging(buffers) { a, _ in a } }

    /// Copies values from a state dict (e.g. safetensors exported from PyTorch); every parameter must
    /// be present with the same shape, extra entries are reported.
    public func load(_ state: [String: Tensor], path: String = "checkpoint") throws {
        let own = stateDict
        for (name, t) in own {
            guard let src = state[name] else { throw GantryError.invalidFile(path: path, problem: "missing parameter '\(name)'") }
            guard src.shape == t.shape else { throw GantryError.invalidFile(path: path, problem: "parameter '\(name)' has shape \(src.shape), the network needs \(t.shape)") }
            t.data = src.data
        }
        // PyTorch's batch-norm step counter only matters for momentum=None; it is not kept.
        let extra = Set(state.keys.filter { !$0.hasSuffix(".num_batches_tracked") }).subtracting(own.keys)
        if !extra.isEmpty { throw GantryError.invalidFile(path: path, problem: "unexpected parameters: \(extra.sorted().prefix(5).joined(separator: ", "))") }
    }

    public var all: [Tensor] { tensors.keys.sorted().compactMap { tensors[$0] } }
    public var count: Int { tensors.values.reduce(0) { $0 + $1.count } }
}
