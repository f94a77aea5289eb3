import GantryCore
import GantryNN
import XCTest

/// A tiny 3D conv net learns a toy segmentation (bright noisy blobs) in seconds, deterministically.
final class TrainingTests: XCTestCase {
    func toyBatch(seed: UInt64, n: Int = 2, size: Int = 12) -> (Tensor, Tensor) {
        var g = SeededRandom(seed: seed)
        var x = [Float](repeating: 0, count: n * size * size * size), y = x
        for b in 0..<n {
            let c = (0..<3).map { _ in g.uniform(3.5, Double(size) - 3.5) }, r = g.uniform(2, 3.5)
            for k in 0..<size { for j in 0..<size { for i in 0..<size {
                let o = ((b * size + k) * size + j) * size + i
                let inside = pow(Double(i) - c[0], 2) + pow(Double(j) - c[1], 2) + pow(Double(k) - c[2], 2) < r * r
                y[o] = inside ? 1 : 0
                x[o] = (inside ? 1 : 0) + Float(0.4 * g.normal())
            } } }
        }
        return (Tensor(shape: [n, 1, size, size, size], data: x), Tensor(shape: [n, 1, size, size, size], data: y))
    }

    func train(seed: UInt64) throws -> (losses: [Float], dice: Double) {
        let w1 = Tensor(uniform: [8, 1, 3, 3, 3], bound: 0.5, seed: seed), b1 = Tensor(uniform: [8], bound: 0.1, seed: seed + 1)
        let w2 = Tensor(uniform: [8, 8, 3, 3, 3], bound: 0.2, seed: seed + 2), b2 = Tensor(uniform: [8], bound: 0.1, seed: seed + 3)
        let w3 = Tensor(uniform: [2, 8, 1, 1, 1], bound: 0.3, seed: seed + 4), b3 = Tensor(uniform: [2], bound: 0.1, seed: seed + 5)
        let params = [w1, b1, w2, b2, w3, b3]
        func net(_ x: Tensor) throws -> Tensor {
            let h1 = try x.conv(w1, bias: b1, .uniform(padding: 1)).instanceNorm().leakyReLU()
            let h2 = try h1.conv(w2, bias: b2, .uniform(padding: 1)).instanceNorm().leakyReLU()
            return try h2.conv(w3, bias: b3)
        }
        let opt = Optimizer(params, kind: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: false), learningRate: 0.02,
                            schedule: .poly(power: 0.9, total: 60))
        var losses: [Float] = []
        for step in 0..<60 {
            let (x, y) = toyBatch(seed: UInt64(step % 10))
            opt.zeroGrad()
            let logits = try net(x)
            let loss = try logits.crossEntropy(labels: y) + logits.softDiceLoss(labels: y, includeBackground: false)
            loss.backward()
            opt.update()
            losses.append(loss.data[0])
        }
        // held-out batch
        let (x, y) = toyBatch(seed: 99, n: 4)
        let logits = try Tensor.noGrad { try net(x) }
        let inner = logits.count / 8
        var tp = 0.0, fp = 0.0, fn = 0.0
        for b in 0..<4 { for i in 0..<inner {
            let pred = logits.data[(b * 2 + 1) * inner + i] > logits.data[(b * 2) * inner + i]
            let ref = y.data[b * inner + i] > 0.5
            if pred && ref { tp += 1 } else if pred { fp += 1 } else if ref { fn += 1 }
        } }
        return (losses, 2 * tp / (2 * tp + fp + fn))
    }

    func testTinyNetLearnsToySegmentationDeterministically() throws {
        let a = try train(seed: 1)
        print(String(format: "toy training: loss %.3f → %.3f, held-out Dice %.3f", a.losses.first ?? 0, a.losses.suffix(5).reduce(0, +) / 5, a.dice))
        XCTAssertLessThan(a.losses.suffix(5).reduce(0, +) / 5, 0.35 * (a.losses.first ?? 1))
        XCTAssertGreaterThan(a.dice, 0.85)
        let b = try train(seed: 1)
        XCTAssertEqual(a.losses, b.losses, "same seed → same losses")
    }
}
