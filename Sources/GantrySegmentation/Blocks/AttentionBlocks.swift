import GantryCore
import GantryNN

/// MONAI's attention-U-Net `ConvBlock`: two 3×3×3 conv + batch norm + ReLU, the first strided.
/// Names `<prefix>.conv.0.…`, `<prefix>.conv.1.…`.
struct DoubleConvBlock {
    let prefix: String
    let inChannels: Int, outChannels: Int, stride: Int
    let dropout: Float
    let dims: Int

    func callAsFunction(_ x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        var y = x
        for (i, (c, s)) in [(inChannels, stride), (outChannels, 1)].enumerated() {
            y = try ConvNormAct(prefix: "\(prefix).conv.\(i)", inChannels: c, outChannels: outChannels, stride: s, transposed: false, convOnly: false,
                                dropout: dropout, dims: dims, norm: .batch, activation: .relu)(y, p, training: training)
        }
        return y
    }
}

/// Additive attention gate (Oktay et al. 2018): the coarser decoder signal `g` decides, voxel by
/// voxel, how much of the skip features `x` pass — x · σ(BN(ψ(ReLU(BN(W_g g) + BN(W_x x))))).
/// 1×1×1 projections to `intermediate` channels; names `<prefix>.W_g.{0.conv,1}`, `.W_x…`, `.psi…`.
struct AttentionGate {
    let prefix: String
    let gateChannels: Int, skipChannels: Int, intermediate: Int
    let dims: Int

    func callAsFunction(gate g: Tensor, skip x: Tensor, _ p: ParameterStore, training: Bool) throws -> Tensor {
        func projection(_ name: String, _ t: Tensor, from: Int, to: Int) throws -> Tensor {
            let conv = try ConvNormAct(prefix: "\(prefix).\(name).0", inChannels: from, outChannels: to, stride: 1, transposed: false, convOnly: true,
                                       dropout: 0, dims: dims, kernelSize: 1)(t, p, training: training)
            return try BatchNormLayer(prefix: "\(prefix).\(name).1", channels: to)(conv, p, training: training)
        }
        let a = try projection("W_g", g, from: gateChannels, to: intermediate) + projection("W_x", x, from: skipChannels, to: intermediate)
        let psi = try projection("psi", a.relu(), from: intermediate, to: 1).sigmoid()
        return try x.multiplying(psi)
    }
}
