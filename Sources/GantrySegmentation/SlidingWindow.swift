import Foundation
import GantryCore
import GantryNN

/// Sliding-window inference (MONAI's `sliding_window_inference`): windows of `roi` voxels with
/// `overlap`, each prediction weighted by a Gaussian importance map (σ = 0.125·roi) and accumulated;
/// memory is bounded by one window's activations plus the output. Images smaller than the window
/// are zero-padded and cropped back.
public struct SlidingWindow: Sendable {
    public var roi: [Int]
    public var overlap: Double = 0.5

    public init(roi: [Int], overlap: Double = 0.5) { self.roi = roi; self.overlap = overlap }

    /// `input` [1, C, D, H, W] → per-class scores [1, K, D, H, W] (the model's outputs, e.g. softmax).
    public func run(_ input: Tensor, classes: Int, model: (Tensor) throws -> Tensor) throws -> Tensor {
        guard input.shape.count == 5, input.shape[0] == 1, roi.count == 3 else { throw GantryError.invalidArgument("sliding window: needs [1, C, D, H, W] input and a 3-D window") }
        let size = Array(input.shape.suffix(3))
        let padded = (0..<3).map { max(size[$0], roi[$0]) }
        let x = try input.pad(before: [0, 0, 0], after: (0..<3).map { padded[$0] - size[$0] })
        func starts(_ n: Int, _ r: Int) -> [Int] {
            if n <= r { return [0] }
            let step = max(1, Int(Double(r) * (1 - overlap)))
            var s = Array(stride(from: 0, to: n - r, by: step))
            s.append(n - r)
            return Array(Set(s)).sorted()
        }
        let importance = gaussian()
        let inner = padded.reduce(1, *), win = roi.reduce(1, *)
        var acc = [Float](repeating: 0, count: classes * inner), weight = [Float](repeating: 0, count: inner)
        for z in starts(padded[0], roi[0]) { for y in starts(padded[1], roi[1]) { for xx in starts(padded[2], roi[2]) {
            let patch = try x.slice([nil, nil, z..<(z + roi[0]), y..<(y + roi[1]), xx..<(xx + roi[2])]).detached()
            let out = try Tensor.noGrad { try model(patch) }
            guard out.shape == [1, classes] + roi else { throw GantryError.invalidArgument("model output \(out.shape) for window \(roi)") }
            for a in 0..<roi[0] { for b in 0..<roi[1] { for cc in 0..<roi[2] {
                let wi = (a * roi[1] + b) * roi[2] + cc
                let o = ((z + a) * padded[1] + (y + b)) * padded[2] + xx + cc
                let g = importance[wi]
                weight[o] += g
                for k in 0..<classes { acc[k * inner + o] += g * out.data[k * win + wi] }
            } } }
        } } }
        for k in 0..<classes { for o in 0..<inner { acc[k * inner + o] /= max(weight[o], 1e-12) } }
        let full = Tensor(shape: [1, classes] + padded, data: acc)
        return try full.slice([nil, nil, 0..<size[0], 0..<size[1], 0..<size[2]]).detached()
    }

    func gaussian() -> [Float] {
        let sig = roi.map { 0.125 * Double($0) }
        var g = [Float](repeating: 0, count: roi.reduce(1, *))
        var m: Float = 0
        for a in 0..<roi[0] { for b in 0..<roi[1] { for c in 0..<roi[2] {
            let da = Double(a) - Double(roi[0] - 1) / 2
            let db = Double(b) - Double(roi[1] - 1) / 2
            let dc = Double(c) - Double(roi[2] - 1) / 2
            var e = da * da / (2 * sig[0] * sig[0])
            e += db * db / (2 * sig[1] * sig[1])
            e += dc * dc / (2 * sig[2] * sig[2])
            let v = Float(exp(-e))
            g[(a * roi[1] + b) * roi[2] + c] = v
            m = max(m, v)
        } } }
        // MONAI clamps the minimum to avoid zero weights at the window edges.
        let floor = g.filter { $0 > 0 }.min() ?? 1e-3
        return g.map { max($0 / m, floor / m) }
    }
}

/// nnU-Net-style intensity normalisation for MR: per channel, z-score over non-zero (brain) voxels;
/// background stays 0.
public enum IntensityNormalisation {
    public static func zScoreNonZero(_ v: [Float]) -> [Float] {
        var s = 0.0, s2 = 0.0, n = 0.0
        for x in v where x != 0 { s += Double(x); s2 += Double(x) * Double(x); n += 1 }
        guard n > 1 else { return v }
        let mean = s / n, std = max((s2 / n - mean * mean).squareRoot(), 1e-8)
        return v.map { $0 == 0 ? 0 : Float((Double($0) - mean) / std) }
    }
}
