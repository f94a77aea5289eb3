import GantryCore
import GantryNN

/// MONAI's `Convolution` block: conv (or transposed conv) followed by ADN — instance norm (no affine),
/// dropout, PReLU with one slope — unless `convOnly`. State-dict names: `<prefix>.conv.weight/bias`,
/// `<prefix>.adn.A.weight`.
struct ConvNormAct {
    let prefix: String
    let inChannels: Int, outChannels: Int, stride: Int
    let transposed: Bool, convOnly: Bool
    let dropout: Float
    let dims: Int

    func callAsFunction(_ x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        let k = 3
        let kernel = Array(repeating: k, count: dims)
        let fanIn = (transposed ? outChannels : inChannels) * kernel.reduce(1, *)
        let w = p.parameter("\(prefix).conv.weight", shape: transposed ? [inChannels, outChannels] + kernel : [outChannels, inChannels] + kernel, fanIn: fanIn)
        let b = p.parameter("\(prefix).conv.bias", shape: [outChannels], fanIn: fanIn)
        var y: Tensor
        if transposed {
            y = try x.convTranspose(w, bias: b, .uniform(stride: stride, padding: 1, dims: dims), outputPadding: Array(repeating: stride - 1, count: dims))
        } else {
            y = try x.conv(w, bias: b, .uniform(stride: stride, padding: 1, dims: dims))
        }
        if convOnly { return y }
        y = try y.instanceNorm()
        y = y.dropout(dropout, training: training, seed: 17)
        return try y.prelu(p.parameter("\(prefix).adn.A.weight", shape: [1], fanIn: 1, constant: 0.25))
    }
}
