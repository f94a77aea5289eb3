import Foundation
import GantryCore

extension Tensor {
    /// Spatial dims of a 4-D (2D) or 5-D (3D) tensor, padded to 3 (depth 1 for 2D).
    var spatial3: [Int] { shape.count == 4 ? [1, shape[2], shape[3]] : Array(shape.dropFirst(2)) }

    /// Max pooling (kernel = stride, no padding, as U-Net down-sampling), 2D or 3D.
    public func maxPool(_ k: Int) throws -> Tensor {
        try pool(k, max: true)
    }

    /// Average pooling (kernel = stride).
    public func avgPool(_ k: Int) throws -> Tensor {
        try pool(k, max: false)
    }

    private func pool(_ k: Int, max isMax: Bool) throws -> Tensor {
        let is2D = shape.count == 4
        let s = spatial3, kd = is2D ? 1 : k
        let (n, c) = (shape[0], shape[1])
        let o = [s[0] / kd, s[1] / k, s[2] / k]
        guard o.allSatisfy({ $0 > 0 }) else { throw GantryError.invalidArgument("pool \(k): input \(shape) too small") }
        let outCount = n * c * o[0] * o[1] * o[2]
        var y = [Float](repeating: 0, count: outCount)
        var argmax = [Int](repeating: 0, count: isMax ? outCount : 0)
        let window = Float(kd * k * k)
        for nc in 0..<(n * c) { for z in 0..<o[0] { for yy in 0..<o[1] { for x in 0..<o[2] {
            var best = -Float.infinity, bi = 0, sum: Float = 0
            for a in 0..<kd { for b in 0..<k { for cc in 0..<k {
                let i = ((nc * s[0] + z * kd + a) * s[1] + yy * k + b) * s[2] + x * k + cc
                let v = data[i]
                sum += v
                if v > best { best = v; bi = i }
            } } }
            let oi = ((nc * o[0] + z) * o[1] + yy) * o[2] + x
            if isMax { y[oi] = best; argmax[oi] = bi } else { y[oi] = sum / window }
        } } } }
        let outShape = is2D ? [n, c, o[1], o[2]] : [n, c, o[0], o[1], o[2]]
        return Tensor.result(shape: outShape, data: y, parents: [self]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            if isMax {
                for i in 0..<gy.count { gx[argmax[i]] += gy[i] }
            } else {
                for nc in 0..<(n * c) { for z in 0..<o[0] { for yy in 0..<o[1] { for x in 0..<o[2] {
                    let g = gy[((nc * o[0] + z) * o[1] + yy) * o[2] + x] / window
                    for a in 0..<kd { for b in 0..<k { for cc in 0..<k { gx[((nc * s[0] + z * kd + a) * s[1] + yy * k + b) * s[2] + x * k + cc] += g } } }
                } } } }
            }
            self.accumulate(gx)
        }
    }

    /// Nearest-neighbour up-sampling by an integer factor (2D or 3D).
    public func upsampleNearest(_ f: Int) -> Tensor {
        let is2D = shape.count == 4
        let s = spatial3, fd = is2D ? 1 : f
        let (n, c) = (shape[0], shape[1])
        let o = [s[0] * fd, s[1] * f, s[2] * f]
        var y = [Float](repeating: 0, count: n * c * o[0] * o[1] * o[2])
        for nc in 0..<(n * c) { for z in 0..<o[0] { for yy in 0..<o[1] { for x in 0..<o[2] {
            y[((nc * o[0] + z) * o[1] + yy) * o[2] + x] = data[((nc * s[0] + z / fd) * s[1] + yy / f) * s[2] + x / f]
        } } } }
        let outShape = is2D ? [n, c, o[1], o[2]] : [n, c, o[0], o[1], o[2]]
        return Tensor.result(shape: outShape, data: y, parents: [self]) { gy in
            var gx = [Float](repeating: 0, count: self.count)
            for nc in 0..<(n * c) { for z in 0..<o[0] { for yy in 0..<o[1] { for x in 0..<o[2] {
                gx[((nc * s[0] + z / fd) * s[1] + yy / f) * s[2] + x / f] += gy[((nc * o[0] + z) * o[1] + yy) * o[2] + x]
            } } } }
            self.accumulate(gx)
        }
    }

    /// Concatenation along the channel axis.
    public static func concatChannels(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { throw GantryError.invalidArgument("concat of nothing") }
        let n = first.shape[0], inner = first.shape.dropFirst(2).reduce(1, *)
        for p in parts where p.shape[0] != n || Array(p.shape.dropFirst(2)) != Array(first.shape.dropFirst(2)) {
            throw GantryError.invalidArgument("concat: shapes \(first.shape) and \(p.shape) differ outside channels")
        }
        let cs = parts.map { $0.shape[1] }, ctot = cs.reduce(0, +)
        // Output block (sample b, part k) is part k's sample-b block, copied whole.
        let offsets = cs.reduce(into: [0]) { $0.append($0.last! + $1) }
        let out = Buffers.planes(n, inner: ctot * inner) { o, b in
            for (k, p) in parts.enumerated() where cs[k] > 0 {
                p.data.withUnsafeBufferPointer { src in (o + offsets[k] * inner).update(from: src.baseAddress! + b * cs[k] * inner, count: cs[k] * inner) }
            }
        }
        return Tensor.result(shape: [n, ctot] + Array(first.shape.dropFirst(2)), data: out, parents: parts) { gy in
            gy.withUnsafeBufferPointer { gb in
                for (k, p) in parts.enumerated() where p.requiresGrad && cs[k] > 0 {
                    let block = cs[k] * inner
                    p.accumulate(Buffers.planes(n, inner: block) { o, b in o.update(from: gb.baseAddress! + (b * ctot + offsets[k]) * inner, count: block) })
                }
            }
        }
    }
}
