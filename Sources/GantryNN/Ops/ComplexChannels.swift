import GantryCore

extension Tensor {
    /// Interleaved complex values ([re, im, re, im, …] of `count` pixels of an [N, H, W] stack) as a
    /// [N, 2, H, W] tensor with real and imaginary channels — the layout MRI networks take (atommic's
    /// complex_to_channels).
    public static func fromComplex(_ interleaved: [Float], n: Int, h: Int, w: Int) throws -> Tensor {
        guard interleaved.count == 2 * n * h * w else { throw GantryError.invalidArgument("complex buffer has \(interleaved.count / 2) values, need \(n * h * w)") }
        var out = [Float](repeating: 0, count: 2 * n * h * w)
        let plane = h * w
        for b in 0..<n { for p in 0..<plane {
            out[(b * 2) * plane + p] = interleaved[2 * (b * plane + p)]
            out[(b * 2 + 1) * plane + p] = interleaved[2 * (b * plane + p) + 1]
        } }
        return Tensor(shape: [n, 2, h, w], data: out)
    }

    /// The inverse of `fromComplex`: [N, 2, H, W] channels back to interleaved complex.
    public func toComplex() throws -> [Float] {
        guard shape.count == 4, shape[1] == 2 else { throw GantryError.invalidArgument("toComplex needs [N, 2, H, W], got \(shape)") }
        let (n, plane) = (shape[0], shape[2] * shape[3])
        var out = [Float](repeating: 0, count: 2 * n * plane)
        for b in 0..<n { for p in 0..<plane {
            out[2 * (b * plane + p)] = data[(b * 2) * plane + p]
            out[2 * (b * plane + p) + 1] = data[(b * 2 + 1) * plane + p]
        } }
        return out
    }

    /// A volume (or its frames) as [1, C, D, H, W] (C = frames); geometry stays with the volume.
    public convenience init(volume v: Volume) {
        let s = v.spatialShape
        self.init(shape: [1, v.frames, s[2], s[1], s[0]], data: v.data)
    }

    /// Back onto `grid`'s geometry: channel `c` of sample `n` as a volume with the grid's affine.
    public func volume(like grid: Volume, sample n: Int = 0, channel c: Int = 0) throws -> Volume {
        let s = grid.spatialShape
        guard shape.count == 5, shape[2] == s[2], shape[3] == s[1], shape[4] == s[0] else {
            throw GantryError.invalidArgument("tensor \(shape) does not match the grid \(s)")
        }
        let inner = s.reduce(1, *)
        let start = (n * shape[1] + c) * inner
        return try Volume(shape: s, affine: grid.affine, data: Array(data[start..<(start + inner)]), header: grid.header)
    }
}

extension Tensor {
    /// |z| of [N, 2, H, W] real/imaginary channels → [N, 1, H, W] (atommic's complex_abs). The
    /// derivative at z = 0 is taken as 0.
    public func complexMagnitude() throws -> Tensor {
        guard shape.count == 4, shape[1] == 2 else { throw GantryError.invalidArgument("complex magnitude needs [N, 2, H, W], got \(shape)") }
        let (n, plane) = (shape[0], shape[2] * shape[3])
        var y = [Float](repeating: 0, count: n * plane)
        for b in 0..<n { for p in 0..<plane {
            let (re, im) = (data[2 * b * plane + p], data[(2 * b + 1) * plane + p])
            y[b * plane + p] = (re * re + im * im).squareRoot()
        } }
        return Tensor.result(shape: [n, 1, shape[2], shape[3]], data: y, parents: [self]) { g in
            var gx = [Float](repeating: 0, count: self.count)
            for b in 0..<n { for p in 0..<plane where y[b * plane + p] > 0 {
                let s = g[b * plane + p] / y[b * plane + p]
                gx[2 * b * plane + p] = s * self.data[2 * b * plane + p]
                gx[(2 * b + 1) * plane + p] = s * self.data[(2 * b + 1) * plane + p]
            } }
            self.accumulate(gx)
        }
    }

    /// x / max(x) over the whole tensor, differentiated through the maximum too (the gradient of the
    /// maximum is shared evenly among ties, as PyTorch's full `max()`). Losses of recurrent
    /// reconstruction networks compare such max-normalised magnitudes.
    public func dividedByMax() throws -> Tensor {
        guard let m = data.max(), m > 0 else { throw GantryError.invalidArgument("max-normalisation needs a positive maximum") }
        let ties = data.indices.filter { data[$0] == m }
        return Tensor.result(shape: shape, data: data.map { $0 / m }, parents: [self]) { g in
            var gx = g.map { $0 / m }
            var dot: Float = 0
            for i in 0..<g.count { dot += g[i] * self.data[i] }
            let share = dot / (m * m) / Float(ties.count)
            for i in ties { gx[i] -= share }
            self.accumulate(gx)
        }
    }
}
