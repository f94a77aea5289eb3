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
    /// Windows per forward pass (MONAI's `sw_batch_size`). A 48³ window's coarse levels are too
    /// small to keep two cores busy one window at a time; batched, every op has `batch` times the
    /// work. The model must treat the samples of a batch independently (the U-Nets do in inference).
    public var batch: Int = 4

    public init(roi: [Int], overlap: Double = 0.5, batch: Int = 4) { self.roi = roi; self.overlap = overlap; self.batch = max(1, batch) }

    /// `input` [1, C, D, H, W] → per-class scores [1, K, D, H, W] (the model's outputs, e.g. softmax).
    /// `progress(windows done, windows)` after each batch.
    public func run(_ input: Tensor, classes: Int, progress: (Int, Int) -> Void = { _, _ in }, model: (Tensor) throws -> Tensor) throws -> Tensor {
        guard input.shape.count == 5, input.shape[0] == 1, roi.count == 3 else { throw GantryError.invalidArgument("sliding window: needs [1, C, D, H, W] input and a 3-D window") }
        let size = Array(input.shape.suffix(3)), channels = input.shape[1]
        // An axis shorter than the window is zero-padded on both sides (the odd voxel after), as MONAI does.
        let padded = (0..<3).map { max(size[$0], roi[$0]) }
        let before = (0..<3).map { (padded[$0] - size[$0]) / 2 }
        let x = padded == size ? input : try input.pad(before: before, after: (0..<3).map { padded[$0] - size[$0] - before[$0] })
        func starts(_ n: Int, _ r: Int) -> [Int] {
            if n <= r { return [0] }
            let step = max(1, Int(Double(r) * (1 - overlap)))
            var s = Array(stride(from: 0, to: n - r, by: step))
            s.append(n - r)
            return Array(Set(s)).sorted()
        }
        var corners = [[Int]]()
        for z in starts(padded[0], roi[0]) { for y in starts(padded[1], roi[1]) { for xx in starts(padded[2], roi[2]) { corners.append([z, y, xx]) } } }
        let importance = gaussian()
        let inner = padded.reduce(1, *), win = roi.reduce(1, *)
        var acc = [Float](repeating: 0, count: classes * inner), weight = [Float](repeating: 0, count: inner)
        let source = x.data
        for first in stride(from: 0, to: corners.count, by: batch) {
            let group = Array(corners[first..<min(corners.count, first + batch)])
            // The group's windows as one batch [B, C, roi], copied row by row.
            var patches = [Float](repeating: 0, count: group.count * channels * win)
            source.withUnsafeBufferPointer { sb in patches.withUnsafeMutableBufferPointer { pb in
                for (w, c0) in group.enumerated() { for ch in 0..<channels { for a in 0..<roi[0] { for b in 0..<roi[1] {
                    let src = sb.baseAddress! + ((ch * padded[0] + c0[0] + a) * padded[1] + c0[1] + b) * padded[2] + c0[2]
                    (pb.baseAddress! + ((w * channels + ch) * roi[0] + a) * roi[1] * roi[2] + b * roi[2]).update(from: src, count: roi[2])
                } } } }
            } }
            let out = try Tensor.noGrad { try model(Tensor(shape: [group.count, channels] + roi, data: patches)) }
            guard out.shape == [group.count, classes] + roi else { throw GantryError.invalidArgument("model output \(out.shape) for window \(roi)") }
            // Accumulate each window in order (windows overlap), classes in parallel; rows of the
            // window are contiguous runs of the output.
            let scores = out.data
            for (w, c0) in group.enumerated() {
                scores.withUnsafeBufferPointer { ob in importance.withUnsafeBufferPointer { gb in
                    acc.withUnsafeMutableBufferPointer { ab in weight.withUnsafeMutableBufferPointer { wb in
                        let (op, gp, ap, wp) = (ob.baseAddress!, gb.baseAddress!, ab.baseAddress!, wb.baseAddress!)
                        Parallel.forEach(classes + 1, work: (classes + 1) * win) { k in
                            for a in 0..<roi[0] { for b in 0..<roi[1] {
                                let wi = (a * roi[1] + b) * roi[2], o = ((c0[0] + a) * padded[1] + c0[1] + b) * padded[2] + c0[2]
                                if k == classes {
                                    for cc in 0..<roi[2] { wp[o + cc] += gp[wi + cc] }
                                } else {
                                    let dst = ap + k * inner + o, src = op + (w * classes + k) * win + wi
                                    for cc in 0..<roi[2] { dst[cc] += gp[wi + cc] * src[cc] }
                                }
                            } }
                        }
                    } }
                } }
            }
            progress(min(corners.count, first + batch), corners.count)
        }
        acc.withUnsafeMutableBufferPointer { ab in weight.withUnsafeBufferPointer { wb in
            let (ap, wp) = (ab.baseAddress!, wb.baseAddress!)
            Parallel.forEach(classes, work: classes * inner) { k in for o in 0..<inner { ap[k * inner + o] /= max(wp[o], 1e-12) } }
        } }
        let full = Tensor(shape: [1, classes] + padded, data: acc)
        return padded == size ? full : try full.slice([nil, nil] + (0..<3).map { before[$0]..<(before[$0] + size[$0]) }).detached()
    }

    /// MONAI's importance map: the product of 1D Gaussians (σ = 0.125·roi) about the window's
    /// centre, unnormalised, every weight at least 1e-3 — so at the image's corners, where only
    /// the Gaussians' tails reach, the windows there share the voxel rather than the nearest
    /// window's tail alone deciding it.
    func gaussian() -> [Float] {
        let axes = roi.map { r in
            (0..<r).map { i -> Double in
                let d = Double(i) - Double(r - 1) / 2, sigma = 0.125 * Double(r)
                return exp(-d * d / (2 * sigma * sigma))
            }
        }
        var g = [Float](repeating: 0, count: roi.reduce(1, *))
        for a in 0..<roi[0] { for b in 0..<roi[1] { for c in 0..<roi[2] {
            g[(a * roi[1] + b) * roi[2] + c] = Float(axes[0][a] * axes[1][b] * axes[2][c])
        } } }
        let floor = max(g.min() ?? 0, 1e-3)
        return g.map { max($0, floor) }
    }
}

/// MR intensity normalisation, per channel: a z-score over the foreground voxels, background 0.
/// Which voxels are foreground is the checkpoint's choice (metadata `normalisation`).
public enum IntensityNormalisation: String, Sendable, CaseIterable {
    /// nnU-Net's rule for BraTS: every non-zero voxel. Right for images whose background is exactly
    /// 0 (skull-stripped, BraTS); on an image with a noisy background it takes the air in, and the
    /// statistics then depend on how much air the field of view holds.
    case nonZero = "nonzero"
    /// The head or brain, whatever the background: every non-zero voxel when a tenth or more of
    /// the image is exactly 0 (a stripped or masked background), else the voxels above the Otsu
    /// threshold of the intensity histogram (noise in the air around a head falls below it).
    case foreground

    public func callAsFunction(_ v: [Float]) -> [Float] {
        let mask = foregroundMask(v)
        var s = 0.0, s2 = 0.0, n = 0.0
        for (x, inside) in zip(v, mask) where inside { s += Double(x); s2 += Double(x) * Double(x); n += 1 }
        guard n > 1 else { return v }
        let mean = s / n, std = max((s2 / n - mean * mean).squareRoot(), 1e-8)
        return zip(v, mask).map { $1 ? Float((Double($0) - mean) / std) : 0 }
    }

    public func foregroundMask(_ v: [Float]) -> [Bool] {
        let zeros = v.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        if self == .nonZero || zeros * 10 >= v.count { return v.map { $0 != 0 } }
        let t = Self.otsuThreshold(v)
        return v.map { $0 > t }
    }

    /// Otsu's threshold (the split of a 256-bin histogram between the minimum and the 99.9th
    /// percentile that maximises the between-class variance).
    static func otsuThreshold(_ v: [Float]) -> Float {
        guard let lo = v.min() else { return 0 }
        let hi = v.orderStatistic(min(v.count - 1, v.count * 999 / 1000))
        guard hi > lo else { return lo }
        let bins = 256, width = (hi - lo) / Float(bins)
        var hist = [Double](repeating: 0, count: bins)
        for x in v { hist[min(bins - 1, max(0, Int((x - lo) / width)))] += 1 }
        let total = hist.reduce(0, +), sumAll = hist.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
        var wB = 0.0, sumB = 0.0, best = -1.0, split = 0
        for i in 0..<bins {
            wB += hist[i]; sumB += Double(i) * hist[i]
            let wF = total - wB
            guard wB > 0, wF > 0 else { continue }
            let mB = sumB / wB, mF = (sumAll - sumB) / wF
            let between = wB * wF * (mB - mF) * (mB - mF)
            if between > best { best = between; split = i }
        }
        return lo + Float(split + 1) * width
    }
}
