import GantryCore

/// MONAI's `ResidualUnit`: `subunits` ConvNormAct blocks (the first strided) plus a residual path —
/// identity when shape is kept, else a conv (3³ when strided, 1³ otherwise). Names:
/// `<prefix>.conv.unit{i}…`, `<prefix>.residual.weight/bias`.
public struct ResidualUnit {
    public let prefix: String
    public let inChannels: Int, outChannels: Int, stride: Int, subunits: Int
    public let lastConvOnly: Bool
    public let dropout: Float
    public let dims: Int

    public init(prefix: String, inChannels: Int, outChannels: Int, stride: Int, subunits: Int, lastConvOnly: Bool, dropout: Float, dims: Int) {
        self.prefix = prefix; self.inChannels = inChannels; self.outChannels = outChannels; self.stride = stride
        self.subunits = subunits; self.lastConvOnly = lastConvOnly; self.dropout = dropout; self.dims = dims
    }

    public func callAsFunction(_ x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        var y = x
        var c = inChannels
        for i in 0..<max(1, subunits) {
            let block = ConvNormAct(prefix: "\(prefix).conv.unit\(i)", inChannels: c, outChannels: outChannels, stride: i == 0 ? stride : 1,
                                    transposed: false, convOnly: lastConvOnly && i == max(1, subunits) - 1, dropout: dropout, dims: dims)
            y = try block(y, p, training: training)
            c = outChannels
        }
        if stride == 1 && inChannels == outChannels { return y + x }
        let k = stride == 1 ? 1 : 3
        let kernel = Array(repeating: k, count: dims)
        let (w, b) = p.convolution("\(prefix).residual", weight: [outChannels, inChannels] + kernel, outChannels: outChannels, fanIn: inChannels * kernel.reduce(1, *))
        let r = try x.conv(w, bias: b, .uniform(stride: stride, padding: k == 3 ? 1 : 0, dims: dims))
        return y + r
    }
}
