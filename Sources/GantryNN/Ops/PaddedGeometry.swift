import GantryCore

/// What a convolution's padding holds: zeros (PyTorch's default), or copies of the nearest edge
/// value (ReplicationPad before the convolution, as atommic's RIM layers do).
enum PaddingEdges: Sendable {
    case zeros, replicate
}

/// A stride-1 convolution's input, zero-padded once, in a layout where every kernel tap reads
/// the same flat offset from every output position: rows keep the padded width `wp`, planes the
/// padded area `hp·wp`. Output positions are laid out with the same pitches (those past a row's or
/// plane's end are computed and discarded), so a tap is one contiguous run — an axpy for depthwise
/// convolutions, a GEMM operand with leading dimension `dp·hp·wp` for dense ones.
struct PaddedGeometry {
    let d: Int, h: Int, w: Int
    let kd: Int, kh: Int, kw: Int
    let padding: [Int], dilation: [Int]
    var od: Int { d + 2 * padding[0] - dilation[0] * (kd - 1) }
    var oh: Int { h + 2 * padding[1] - dilation[1] * (kh - 1) }
    var ow: Int { w + 2 * padding[2] - dilation[2] * (kw - 1) }
    var dp: Int { d + 2 * padding[0] }
    var hp: Int { h + 2 * padding[1] }
    var wp: Int { w + 2 * padding[2] }
    /// Length of the padded-layout run that covers every output position.
    var span: Int { ((od - 1) * hp + (oh - 1)) * wp + ow }
    /// Start of each tap's input run in the padded buffer.
    var offsets: [Int] {
        var o: [Int] = []
        for a in 0..<kd { for b in 0..<kh { for c in 0..<kw { o.append((a * dilation[0] * hp + b * dilation[1]) * wp + c * dilation[2]) } } }
        return o
    }

    /// Copies one channel into (or back out of) the zero-padded layout.
    func pad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        for z in 0..<d { for y in 0..<h {
            (dst + ((z + padding[0]) * hp + y + padding[1]) * wp + padding[2]).update(from: src + (z * h + y) * w, count: w)
        } }
    }
    func unpad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        for z in 0..<d { for y in 0..<h {
            (dst + (z * h + y) * w).update(from: src + ((z + padding[0]) * hp + y + padding[1]) * wp + padding[2], count: w)
        } }
    }
    /// Output ↔ padded-width layout (row pitch wp, plane pitch hp·wp).
    func gatherOutput(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        for z in 0..<od { for y in 0..<oh { (dst + (z * oh + y) * ow).update(from: src + (z * hp + y) * wp, count: ow) } }
    }
    func scatterOutput(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        for z in 0..<od { for y in 0..<oh { (dst + (z * hp + y) * wp).update(from: src + (z * oh + y) * ow, count: ow) } }
    }
}

