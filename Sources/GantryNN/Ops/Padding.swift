import GantryCore

extension Tensor {
    /// Replication padding of the last two axes by `p` (PyTorch's `ReplicationPad2d`, which
    /// atommic's `ConvNonlinear` puts before every convolution). Each output row is the clamped
    /// input row: its left/right margins repeat the edge value, its middle is one copy.
    public func replicationPad2d(_ p: Int) throws -> Tensor {
        guard shape.count == 4, p >= 0 else { throw GantryError.invalidArgument("replication pad: needs [N, C, H, W] and p ≥ 0, got \(shape), \(p)") }
        if p == 0 { return self }
        let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        guard h > 0, w > 0 else { throw GantryError.invalidArgument("replication pad: empty plane \(shape)") }
        let (oh, ow) = (h + 2 * p, w + 2 * p)
        let out = data.withUnsafeBufferPointer { xb in
            let xp = xb.baseAddress
            return Buffers.planes(nc, inner: oh * ow) { o, c in
                let plane = xp.unsafelyUnwrapped + c * h * w
                for y in 0..<oh {
                    let src = plane + min(max(y - p, 0), h - 1) * w, dst = o + y * ow
                    for x in 0..<p { dst[x] = src[0]; dst[p + w + x] = src[w - 1] }
                    (dst + p).update(from: src, count: w)
                }
            }
        }
        return Tensor.result(shape: [shape[0], shape[1], oh, ow], data: out, parents: [self]) { g in
            // Each padded value's gradient goes to the input value it copied.
            var gx = [Float](repeating: 0, count: nc * h * w)
            gx.withUnsafeMutableBufferPointer { gxb in g.withUnsafeBufferPointer { gb in
                let (gxp, gp) = (gxb.baseAddress!, gb.baseAddress!)
                Parallel.forEach(nc, work: nc * oh * ow) { c in
                    let plane = gxp + c * h * w
                    for y in 0..<oh {
                        let dst = plane + min(max(y - p, 0), h - 1) * w, src = gp + (c * oh + y) * ow
                        for x in 0..<p { dst[0] += src[x]; dst[w - 1] += src[p + w + x] }
                        for x in 0..<w { dst[x] += src[p + x] }
                    }
                }
            } }
            self.accumulate(gx)
        }
    }
}
