import GantryCore

extension Tensor {
    /// Replication ("edge") padding of the two spatial axes of [N, C, H, W] by `p` on every side —
    /// PyTorch's `ReplicationPad2d(p)`. Recurrent MRI networks pad this way so the image border is not
    /// pulled towards zero at every one of their many steps.
    public func replicationPad2d(_ p: Int) throws -> Tensor {
        guard shape.count == 4, p >= 0 else { throw GantryError.invalidArgument("replication pad: needs [N, C, H, W] and p ≥ 0, got \(shape), \(p)") }
        if p == 0 { return self }
        let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let (oh, ow) = (h + 2 * p, w + 2 * p)
        // Source index of every output pixel within one plane (shared by all planes).
        var src = [Int](repeating: 0, count: oh * ow)
        for y in 0..<oh { for x in 0..<ow { src[y * ow + x] = min(max(y - p, 0), h - 1) * w + min(max(x - p, 0), w - 1) } }
        var out = [Float](repeating: 0, count: nc * oh * ow)
        data.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { yb in
            for c in 0..<nc { let (i0, o0) = (c * h * w, c * oh * ow); for o in 0..<(oh * ow) { yb[o0 + o] = xb[i0 + src[o]] } }
        } }
        return Tensor.result(shape: [shape[0], shape[1], oh, ow], data: out, parents: [self]) { g in
            var gx = [Float](repeating: 0, count: nc * h * w)
            for c in 0..<nc { let (i0, o0) = (c * h * w, c * oh * ow); for o in 0..<(oh * ow) { gx[i0 + src[o]] += g[o0 + o] } }
            self.accumulate(gx)
        }
    }
}
