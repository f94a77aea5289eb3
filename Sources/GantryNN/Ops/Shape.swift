import Foundation
import GantryCore

extension Tensor {
    /// Elementwise binary op with NumPy/PyTorch broadcasting (trailing-aligned, size-1 axes stretch).
    static func broadcast(_ a: Tensor, _ b: Tensor, _ f: @escaping (Float, Float) -> Float,
                          da: @escaping (Float, Float) -> Float, db: @escaping (Float, Float) -> Float) throws -> Tensor {
        let rank = max(a.shape.count, b.shape.count)
        let sa = Array(repeating: 1, count: rank - a.shape.count) + a.shape, sb = Array(repeating: 1, count: rank - b.shape.count) + b.shape
        var out = [Int]()
        for i in 0..<rank {
            guard sa[i] == sb[i] || sa[i] == 1 || sb[i] == 1 else { throw GantryError.invalidArgument("broadcast: shapes \(a.shape) and \(b.shape) do not broadcast") }
            out.append(max(sa[i], sb[i]))
        }
        func strides(_ s: [Int]) -> [Int] {
            var st = [Int](repeating: 0, count: rank), acc = 1
            for i in stride(from: rank - 1, through: 0, by: -1) { st[i] = s[i] == 1 ? 0 : acc; acc *= s[i] }
            return st
        }
        let (ta, tb) = (strides(sa), strides(sb))
        let n = out.reduce(1, *)
        var ia = [Int](repeating: 0, count: n), ib = ia
        var idx = [Int](repeating: 0, count: rank)
        for o in 0..<n {
            var pa = 0, pb = 0
            for i in 0..<rank { pa += idx[i] * ta[i]; pb += idx[i] * tb[i] }
            ia[o] = pa; ib[o] = pb
            var k = rank - 1
            while k >= 0 { idx[k] += 1; if idx[k] < out[k] { break }; idx[k] = 0; k -= 1 }
        }
        let y = (0..<n).map { f(a.data[ia[$0]], b.data[ib[$0]]) }
        return result(shape: out, data: y, parents: [a, b]) { g in
            var ga = [Float](repeating: 0, count: a.count), gb = [Float](repeating: 0, count: b.count)
            for o in 0..<n {
                let (x, z) = (a.data[ia[o]], b.data[ib[o]])
                ga[ia[o]] += g[o] * da(x, z); gb[ib[o]] += g[o] * db(x, z)
            }
            a.accumulate(ga); b.accumulate(gb)
        }
    }

    public func adding(_ b: Tensor) throws -> Tensor { try Tensor.broadcast(self, b, { $0 + $1 }, da: { _, _ in 1 }, db: { _, _ in 1 }) }
    public func subtracting(_ b: Tensor) throws -> Tensor { try Tensor.broadcast(self, b, { $0 - $1 }, da: { _, _ in 1 }, db: { _, _ in -1 }) }
    public func multiplying(_ b: Tensor) throws -> Tensor {
        if let scaled = try channelScaled(b) { return scaled }
        if let gated = spatiallyScaled(b) { return gated }
        return try Tensor.broadcast(self, b, { $0 * $1 }, da: { _, y in y }, db: { x, _ in x })
    }

    /// The common broadcast of a per-channel factor [1, C, 1, …] over [N, C, …] (IndRNN's recurrent
    /// weight, gates) without index tables; nil when `b` is not of that shape.
    func channelScaled(_ b: Tensor) throws -> Tensor? {
        guard shape.count >= 3, b.shape.count == shape.count, b.shape[0] == 1, b.shape[1] == shape[1],
              b.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else { return nil }
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        let f = b.data, x = data
        // a · f per channel: the output from x, and dX from g.
        func scaled(_ a: [Float]) -> [Float] {
            a.withUnsafeBufferPointer { ab in
                let ap = ab.baseAddress
                return Buffers.planes(n * c, inner: inner) { o, j in
                    let s = f[j % c], src = ap.unsafelyUnwrapped + j * inner
                    for k in 0..<inner { o[k] = src[k] * s }
                }
            }
        }
        return Tensor.result(shape: shape, data: scaled(x), parents: [self, b]) { g in
            // df = Σ g · x over samples and positions.
            self.accumulate(scaled(g))
            b.accumulate(Buffers.channelSums(Tensor.product(g, x), n: n, c: c, inner: inner))
        }
    }
    /// The attention gate's product: features [N, C, …] times one map per sample [N, 1, …] shared by
    /// every channel, without index tables; nil when `b` is not of that shape.
    func spatiallyScaled(_ b: Tensor) -> Tensor? {
        guard shape.count >= 3, b.shape.count == shape.count, b.shape[0] == shape[0], b.shape[1] == 1, shape[1] > 1,
              Array(b.shape.dropFirst(2)) == Array(shape.dropFirst(2)) else { return nil }
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        let m = b.data, x = data
        // a · m with the sample's map shared by every channel: the output from x, and dX from g.
        func gated(_ a: [Float]) -> [Float] {
            a.withUnsafeBufferPointer { ab in m.withUnsafeBufferPointer { mb in
                let (ap, mp) = (ab.baseAddress, mb.baseAddress)
                return Buffers.planes(n * c, inner: inner) { o, j in
                    let p = ap.unsafelyUnwrapped + j * inner, q = mp.unsafelyUnwrapped + (j / c) * inner
                    for k in 0..<inner { o[k] = p[k] * q[k] }
                }
            } }
        }
        return Tensor.result(shape: shape, data: gated(x), parents: [self, b]) { g in
            var gm = [Float](repeating: 0, count: n * inner)
            g.withUnsafeBufferPointer { gb in x.withUnsafeBufferPointer { xb in gm.withUnsafeMutableBufferPointer { gmb in
                let (gp, xp, gmp) = (gb.baseAddress!, xb.baseAddress!, gmb.baseAddress!)
                // dM = Σ_c g · x, summed over channels in order per voxel.
                Parallel.forEach(n, work: self.count) { i in
                    let dst = gmp + i * inner
                    for ch in 0..<c {
                        let o = (i * c + ch) * inner
                        for k in 0..<inner { dst[k] += gp[o + k] * xp[o + k] }
                    }
                }
            } } }
            self.accumulate(gated(g)); b.accumulate(gm)
        }
    }
    public func dividing(_ b: Tensor) throws -> Tensor { try Tensor.broadcast(self, b, { $0 / $1 }, da: { _, y in 1 / y }, db: { x, y in -x / (y * y) }) }

    /// The sub-tensor `ranges` (one per axis; nil = whole axis).
    public func slice(_ ranges: [Range<Int>?]) throws -> Tensor {
        guard ranges.count == shape.count else { throw GantryError.invalidArgument("slice: \(ranges.count) ranges for \(shape.count) axes") }
        let r = (0..<shape.count).map { ranges[$0] ?? 0..<shape[$0] }
        for (i, rr) in r.enumerated() where rr.lowerBound < 0 || rr.upperBound > shape[i] || rr.isEmpty {
            throw GantryError.invalidArgument("slice: \(rr) outside axis \(i) of size \(shape[i])")
        }
        let outShape = r.map(\.count), box = BoxRows(full: shape, offsets: r.map(\.lowerBound), box: outShape)
        let y = [Float](unsafeUninitializedCapacity: box.count) { yb, n in
            data.withUnsafeBufferPointer { box.gather(from: $0.baseAddress!, into: yb.baseAddress!) }
            n = box.count
        }
        return Tensor.result(shape: outShape, data: y, parents: [self]) { g in
            var gx = [Float](repeating: 0, count: self.count)
            gx.withUnsafeMutableBufferPointer { gb in g.withUnsafeBufferPointer { box.scatter(from: $0.baseAddress!, into: gb.baseAddress!) } }
            self.accumulate(gx)
        }
    }

    /// Splits along the channel axis into parts of the given sizes (inverse of `concatChannels`).
    /// Each part is one contiguous block per sample, copied as such.
    public func splitChannels(_ sizes: [Int]) throws -> [Tensor] {
        guard shape.count >= 2, sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == shape[1] else {
            throw GantryError.invalidArgument("split: sizes \(sizes) do not add up to the \(shape.count >= 2 ? shape[1] : 0) channels")
        }
        let (n, c) = (shape[0], shape[1]), inner = shape.dropFirst(2).reduce(1, *)
        var off = 0
        return sizes.map { part in
            defer { off += part }
            let first = off, block = part * inner
            let y = data.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress
                return Buffers.planes(n, inner: block) { o, b in o.update(from: xp.unsafelyUnwrapped + (b * c + first) * inner, count: block) }
            }
            var outShape = shape
            outShape[1] = part
            return Tensor.result(shape: outShape, data: y, parents: [self]) { g in
                var gx = [Float](repeating: 0, count: self.count)
                gx.withUnsafeMutableBufferPointer { gxb in g.withUnsafeBufferPointer { gb in
                    for b in 0..<n { (gxb.baseAddress! + (b * c + first) * inner).update(from: gb.baseAddress! + b * block, count: block) }
                } }
                self.accumulate(gx)
            }
        }
    }

    /// Constant (zero) padding of the spatial axes: `before`/`after` per spatial axis.
    public func pad(before: [Int], after: [Int]) throws -> Tensor {
        let sp = shape.count - 2
        guard before.count == sp, after.count == sp, (before + after).allSatisfy({ $0 >= 0 }) else {
            throw GantryError.invalidArgument("pad: need \(sp) non-negative before/after sizes")
        }
        let outShape = Array(shape.prefix(2)) + (0..<sp).map { shape[2 + $0] + before[$0] + after[$0] }
        let box = BoxRows(full: outShape, offsets: [0, 0] + before, box: shape)  // where the input lies in the output
        var y = [Float](repeating: 0, count: outShape.reduce(1, *))
        y.withUnsafeMutableBufferPointer { yb in data.withUnsafeBufferPointer { box.scatter(from: $0.baseAddress!, into: yb.baseAddress!) } }
        return Tensor.result(shape: outShape, data: y, parents: [self]) { g in
            let gx = [Float](unsafeUninitializedCapacity: box.count) { gb, n in
                g.withUnsafeBufferPointer { box.gather(from: $0.baseAddress!, into: gb.baseAddress!) }
                n = box.count
            }
            self.accumulate(gx)
        }
    }

    /// Linear up-sampling by an integer factor, bilinear (2D) or trilinear (3D), align_corners = false
    /// (PyTorch's `interpolate(mode="bilinear"/"trilinear")`).
    public func upsampleLinear(_ f: Int) -> Tensor {
        let is2D = shape.count == 4
        let s = spatial3, fd = is2D ? 1 : f
        let (n, c) = (shape[0], shape[1])
        let o = [s[0] * fd, s[1] * f, s[2] * f]
        // per axis: source index pairs and weights
        func axis(_ out: Int, _ len: Int, _ scale: Int) -> [(Int, Int, Float)] {
            (0..<out).map { i in
                let src = max(0, (Double(i) + 0.5) / Double(scale) - 0.5)
                let i0 = min(Int(src), len - 1), i1 = min(i0 + 1, len - 1)
                return (i0, i1, Float(src - Double(i0)))
            }
        }
        let az = axis(o[0], s[0], fd), ay = axis(o[1], s[1], f), ax = axis(o[2], s[2], f)
        var y = [Float](repeating: 0, count: n * c * o[0] * o[1] * o[2])
        func each(_ body: (Int, Int, [(Int, Float)]) -> Void) {
            for nc in 0..<(n * c) { for z in 0..<o[0] { for yy in 0..<o[1] { for x in 0..<o[2] {
                let (z0, z1, wz) = az[z], (y0, y1, wy) = ay[yy], (x0, x1, wx) = ax[x]
                func at(_ a: Int, _ b: Int, _ cc: Int) -> Int { ((nc * s[0] + a) * s[1] + b) * s[2] + cc }
                let taps = [(at(z0, y0, x0), (1 - wz) * (1 - wy) * (1 - wx)), (at(z0, y0, x1), (1 - wz) * (1 - wy) * wx),
                            (at(z0, y1, x0), (1 - wz) * wy * (1 - wx)), (at(z0, y1, x1), (1 - wz) * wy * wx),
                            (at(z1, y0, x0), wz * (1 - wy) * (1 - wx)), (at(z1, y0, x1), wz * (1 - wy) * wx),
                            (at(z1, y1, x0), wz * wy * (1 - wx)), (at(z1, y1, x1), wz * wy * wx)]
                body(nc, ((nc * o[0] + z) * o[1] + yy) * o[2] + x, taps)
            } } } }
        }
        each { _, oi, taps in var v: Float = 0; for (i, w) in taps { v += w * data[i] }; y[oi] = v }
        let outShape = is2D ? [n, c, o[1], o[2]] : [n, c, o[0], o[1], o[2]]
        return Tensor.result(shape: outShape, data: y, parents: [self]) { g in
            var gx = [Float](repeating: 0, count: self.count)
            each { _, oi, taps in for (i, w) in taps { gx[i] += w * g[oi] } }
            self.accumulate(gx)
        }
    }
}

/// A box inside a row-major array of shape `full` at `offsets`, walked as its contiguous runs along
/// the last axis: slicing gathers the runs, padding scatters them (an index per element would cost
/// twice the data in memory for a whole-image tensor).
struct BoxRows {
    let full: [Int], offsets: [Int], box: [Int]
    var count: Int { box.reduce(1, *) }

    /// Calls `body(offset in the full array, offset in the box)` for each run of `box.last` elements.
    func forEachRun(_ body: (Int, Int) -> Void) {
        let rank = full.count, run = box.last ?? 1
        guard count > 0 else { return }
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * full[i + 1] }
        var idx = [Int](repeating: 0, count: max(rank - 1, 0))
        for row in 0..<(count / run) {
            var p = offsets[rank - 1]
            for i in 0..<(rank - 1) { p += (idx[i] + offsets[i]) * strides[i] }
            body(p, row * run)
            var k = rank - 2
            while k >= 0 { idx[k] += 1; if idx[k] < box[k] { break }; idx[k] = 0; k -= 1 }
        }
    }

    func gather(from fullData: UnsafePointer<Float>, into boxData: UnsafeMutablePointer<Float>) {
        let run = box.last ?? 1
        forEachRun { f, b in (boxData + b).initialize(from: fullData + f, count: run) }
    }

    func scatter(from boxData: UnsafePointer<Float>, into fullData: UnsafeMutablePointer<Float>) {
        let run = box.last ?? 1
        forEachRun { f, b in (fullData + f).update(from: boxData + b, count: run) }
    }
}
