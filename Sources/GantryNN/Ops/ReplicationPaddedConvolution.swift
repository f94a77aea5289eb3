import GantryCore

extension Tensor {
    /// Replication padding by `padding`, a stride-1 2D convolution, optionally a ReLU — atommic's
    /// `ConvNonlinear`, every layer of a RIM. When no graph is recorded, the ReLU is applied as
    /// outputs are written (no extra pass over the activations), and where the layer's kernel
    /// reads edges itself (Winograd, tap planes) the padding is read from the clamped edge inside
    /// it (no padded copy); per-tap GEMMs take the padded copy. The same values as the three ops
    /// one after another, which is what runs otherwise.
    public func replicationPaddedConv(_ weight: Tensor, bias: Tensor? = nil, padding p: Int, dilation: Int = 1, relu: Bool = false) throws -> Tensor {
        if shape.count == 4, weight.shape.count == 4, p >= 0, dilation >= 1, !Tensor.records([self, weight] + (bias.map { [$0] } ?? [])),
           let y = try fusedReplicationPaddedConv(weight, bias: bias, padding: p, dilation: dilation, relu: relu) {
            return y
        }
        let y = try replicationPad2d(p).conv(weight, bias: bias, .uniform(dilation: dilation, dims: 2))
        return relu ? y.reluReusingStorage() : y
    }

    /// The fused form, or nil where the kernel that takes the layer has none.
    private func fusedReplicationPaddedConv(_ weight: Tensor, bias: Tensor?, padding p: Int, dilation: Int, relu: Bool) throws -> Tensor? {
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3]), (cout, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let oh = h + 2 * p - dilation * (kh - 1), ow = w + 2 * p - dilation * (kw - 1)
        guard weight.shape[1] == cin, n > 0, h > 0, w > 0, oh > 0, ow > 0, bias.map({ $0.count == cout }) ?? true else { return nil }
        let geo = Im2Col(c: cin, d: 1, h: h, w: w, kd: 1, kh: kh, kw: kw, od: 1, oh: oh, ow: ow, stride: [1, 1, 1], padding: [0, p, p], dilation: [1, dilation, dilation])
        let backend = ConvolutionBackend.forward(cin: cin, cout: cout, groups: 1, geometry: geo)
        if backend == .shiftedGEMM {
            let padded = try replicationPad2d(p)
            let unpadded = PaddedGeometry(d: 1, h: h + 2 * p, w: w + 2 * p, kd: 1, kh: kh, kw: kw, padding: [0, 0, 0], dilation: [1, dilation, dilation])
            let out = padded.data.withUnsafeBufferPointer { xb in weight.data.withUnsafeBufferPointer { wb in (bias?.data ?? []).withUnsafeBufferPointer { bb in
                Tensor.convolveShifted(xb.baseAddress!, n: n, cin: cin, weight: wb.baseAddress!, cout: cout, groups: 1, geometry: unpadded,
                                       bias: bias == nil ? nil : bb.baseAddress, relu: relu)
            } } }
            return Tensor(shape: [n, cout, oh, ow], data: out)
        }
        guard backend == .winograd || backend == .tapPlanes else { return nil }
        let out = data.withUnsafeBufferPointer { xb in weight.data.withUnsafeBufferPointer { wb in (bias?.data ?? []).withUnsafeBufferPointer { bb in
            let (xp, wp, bp) = (xb.baseAddress!, wb.baseAddress!, bias == nil ? nil : bb.baseAddress)
            return backend == .winograd
                ? Tensor.convolveWinograd(xp, n: n, cin: cin, weight: wp, cout: cout, geometry: geo.padded, bias: bp, edges: .replicate, relu: relu)
                : Tensor.convolveTapPlanes(xp, n: n, cin: cin, weight: wp, cout: cout, geometry: geo.padded, bias: bp, edges: .replicate, relu: relu)
        } } }
        return Tensor(shape: [n, cout, oh, ow], data: out)
    }
}
