import GantryCore

/// A network's parameters by PyTorch state-dict name, so MONAI/PyTorch checkpoints load by name.
/// Layers declare their parameters where they use them (name, shape, initialisation); a network
/// creates them all once, at construction, by one forward pass on a small input, then `seal`s the
/// store: from then on every declaration must find its parameter with the declared shape — a
/// parameter created later, or one name declared with two shapes, is a bug and stops the program.
public final class ParameterStore {
    public private(set) var tensors: [String: Tensor] = [:]
    /// Non-trainable state saved with the weights (batch-norm running statistics).
    public private(set) var buffers: [String: Tensor] = [:]
    var seed: UInt64
    /// Whether every parameter exists (`seal`).
    public private(set) var isSealed = false

    public init(seed: UInt64 = 0) { self.seed = seed }

    /// Creates (or returns) the parameter `name` with PyTorch's default initialisation bound
    /// (kaiming-uniform-like ±1/sqrt(fan_in)).
    public func parameter(_ name: String, shape: [Int], fanIn: Int, constant: Float? = nil) -> Tensor {
        if let t = existing(name, shape: shape) { return t }
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
        if let t = existing(name, shape: shape) { return t }
        seed &+= 1
        var g = SeededRandom(seed: seed)
        let t = Tensor(shape: shape, data: initialise(&g, shape.reduce(1, *)), requiresGrad: true)
        t.name = name
        tensors[name] = t
        return t
    }

    /// A convolution's weight (`weight` shape) and its `outChannels` biases under `<prefix>.weight`
    /// and `<prefix>.bias`, both with PyTorch's default bound ±1/√fan_in, created in that order.
    public func convolution(_ prefix: String, weight shape: [Int], outChannels: Int, fanIn: Int) -> (weight: Tensor, bias: Tensor) {
        (parameter("\(prefix).weight", shape: shape, fanIn: fanIn), parameter("\(prefix).bias", shape: [outChannels], fanIn: fanIn))
    }

    /// Creates (or returns) the buffer `name`, filled with `value` (PyTorch: running_mean 0, running_var 1).
    public func buffer(_ name: String, count: Int, value: Float) -> Tensor {
        if let t = buffers[name] {
            precondition(t.shape == [count], "buffer '\(name)' declared with \(count) values, created with \(t.shape)")
            return t
        }
        precondition(!isSealed, "buffer '\(name)' declared after the network was built")
        let t = Tensor(shape: [count], data: [Float](repeating: value, count: count))
        t.name = name
        buffers[name] = t
        return t
    }

    /// The parameter `name` if it exists (with `shape`, checked); nil when it may still be created.
    private func existing(_ name: String, shape: [Int]) -> Tensor? {
        if let t = tensors[name] {
            precondition(t.shape == shape, "parameter '\(name)' declared with shape \(shape), created with \(t.shape)")
            return t
        }
        precondition(!isSealed, "parameter '\(name)' declared after the network was built")
        return nil
    }

    /// Marks every parameter as created (the network's constructor calls it after its dry run).
    public func seal() { isSealed = true }

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
