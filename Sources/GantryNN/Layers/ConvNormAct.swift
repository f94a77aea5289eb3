import GantryCore

/// MONAI's `Convolution` block: conv (or transposed conv) followed by ADN — norm, dropout,
/// activation — unless `convOnly`. The residual U-Net uses instance norm (no affine) + PReLU;
/// the attention U-Net batch norm + ReLU. State-dict names: `<prefix>.conv.weight/bias`,
/// `<prefix>.adn.A.weight` (PReLU), `<prefix>.adn.N.…` (batch norm).
public struct ConvNormAct {
    public enum Norm: Sendable { case instance, batch }
    public enum Activation: Sendable { case prelu, relu }

    public let prefix: String
    public let inChannels: Int, outChannels: Int, stride: Int
    public let transposed: Bool, convOnly: Bool
    public let dropout: Float
    public let dims: Int
    public var kernelSize = 3
    public var norm = Norm.instance
    public var activation = Activation.prelu

    public init(prefix: String, inChannels: Int, outChannels: Int, stride: Int, transposed: Bool, convOnly: Bool, dropout: Float, dims: Int,
                kernelSize: Int = 3, norm: Norm = .instance, activation: Activation = .prelu) {
        self.prefix = prefix; self.inChannels = inChannels; self.outChannels = outChannels; self.stride = stride
        self.transposed = transposed; self.convOnly = convOnly; self.dropout = dropout; self.dims = dims
        self.kernelSize = kernelSize; self.norm = norm; self.activation = activation
    }

    public func callAsFunction(_ x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        let k = kernelSize
        let kernel = Array(repeating: k, count: dims)
        let (w, b) = p.convolution("\(prefix).conv", weight: transposed ? [inChannels, outChannels] + kernel : [outChannels, inChannels] + kernel,
                                   outChannels: outChannels, fanIn: (transposed ? outChannels : inChannels) * kernel.reduce(1, *))
        var y: Tensor
        if transposed {
            y = try x.convTranspose(w, bias: b, .uniform(stride: stride, padding: (k - 1) / 2, dims: dims), outputPadding: Array(repeating: stride - 1, count: dims))
        } else {
            y = try x.conv(w, bias: b, .uniform(stride: stride, padding: (k - 1) / 2, dims: dims))
        }
        if convOnly { return y }
        // norm parameters are looked up before the activation's, in both paths
        let batchNorm = BatchNormLayer(prefix: "\(prefix).adn.N", channels: outChannels)
        func slope() -> Tensor { p.parameter("\(prefix).adn.A.weight", shape: [1], fanIn: 1, constant: 0.25) }
        if !training {
            // inference: norm and activation in one pass over the convolution's output (dropout is the identity)
            let fusedNorm: FusedNorm
            switch norm {
            case .instance: fusedNorm = .group(groups: outChannels, weight: nil, bias: nil, eps: 1e-5)
            case .batch: fusedNorm = batchNorm.evaluation(p)
            }
            switch activation {
            case .prelu: return try y.normalizedInPlace(fusedNorm, activation: .prelu(slope()))
            case .relu: return try y.normalizedInPlace(fusedNorm, activation: .relu)
            }
        }
        switch norm {
        case .instance: y = try y.instanceNorm()
        case .batch: y = try batchNorm(y, p, training: training)
        }
        y = y.dropout(dropout, training: training, seed: 17)
        switch activation {
        case .prelu: return try y.prelu(slope())
        case .relu: return y.reluReusingStorage()
        }
    }
}

/// PyTorch's `BatchNormNd` with affine weights and running statistics (buffers in the store):
/// batch statistics while training (updating the running ones), running statistics otherwise.
public struct BatchNormLayer {
    public let prefix: String
    public let channels: Int

    public init(prefix: String, channels: Int) { self.prefix = prefix; self.channels = channels }

    /// Affine weight and bias, running mean and variance (buffers), looked up (or created) in this order.
    private func state(_ p: ParameterStore) -> (weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor) {
        (p.parameter("\(prefix).weight", shape: [channels], fanIn: 1, constant: 1),
         p.parameter("\(prefix).bias", shape: [channels], fanIn: 1, constant: 0),
         p.buffer("\(prefix).running_mean", count: channels, value: 0),
         p.buffer("\(prefix).running_var", count: channels, value: 1))
    }

    public func callAsFunction(_ x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        let s = state(p)
        return try x.batchNorm(runningMean: &s.mean.data, runningVar: &s.variance.data, weight: s.weight, bias: s.bias, training: training)
    }

    /// The same norm in evaluation mode for `Tensor.normalizedInPlace`.
    func evaluation(_ p: ParameterStore) -> FusedNorm {
        let s = state(p)
        return .batchEvaluation(runningMean: s.mean.data, runningVar: s.variance.data, weight: s.weight, bias: s.bias, eps: 1e-5)
    }
}
