import Foundation
import GantryCore
import GantryNN
import XCTest

final class AutogradTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64, grad: Bool = true) -> Tensor { Tensor(uniform: shape, bound: 1, seed: seed, requiresGrad: grad) }

    func testElementwiseGradients() throws {
        let a = random([2, 3, 4], seed: 1), b = random([2, 3, 4], seed: 2)
        // a weighting makes every output element matter differently
        let w = random([2, 3, 4], seed: 3, grad: false)
        for (name, f) in [("add", { (a + b) * w }), ("sub", { (a - b) * w }), ("mul", { a * b * w }),
                          ("relu", { a.relu() * w }), ("leaky", { a.leakyReLU(0.1) * w }), ("sigmoid", { a.sigmoid() * w }),
                          ("tanh", { a.tanh() * w })] as [(String, () -> Tensor)] {
            let err = try GradientCheck.check(a, eps: 1e-3) { f().sum() }
            XCTAssertLessThan(err, 2e-2, name)
        }
        let bias = random([3], seed: 4)
        XCTAssertLessThan(try GradientCheck.check(bias) { (a.addingChannelBias(bias) * w).sum() }, 1e-2)
        XCTAssertLessThan(try GradientCheck.check(a) { a.mse(b) }, 1e-2)
    }

    func testNoGradRecordsNothing() {
        let a = random([4], seed: 1)
        let y = Tensor.noGrad { (a * a).sum() }
        XCTAssertFalse(y.requiresGrad)
        let z = (a * a).sum()
        z.backward()
        XCTAssertEqual(a.grad!, a.data.map { 2 * $0 })
    }

    /// One thread's inference (`noGrad`) must not switch recording off — or, when it ends, on — for
    /// another thread training at the same time (subjects run on concurrent threads).
    func testNoGradIsPerThread() {
        let inside = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var recordedElsewhere = false; var recordedInside = true }
        let box = Box()
        let a = random([4], seed: 1)
        DispatchQueue.global().async {
            Tensor.noGrad {
                inside.signal()
                checked.wait()
                box.recordedInside = (a * a).sum().requiresGrad
            }
            inside.signal()
        }
        inside.wait()
        box.recordedElsewhere = Tensor.isRecording && (a * a).sum().requiresGrad
        checked.signal()
        inside.wait()
        XCTAssertTrue(box.recordedElsewhere, "noGrad on another thread switched recording off here")
        XCTAssertFalse(box.recordedInside, "noGrad did not hold on its own thread")
    }

    func testConvolutionGradientsByFiniteDifferences() throws {
        let configs: [(String, [Int], [Int], ConvParameters)] = [
            ("3d plain", [1, 2, 5, 6, 4], [3, 2, 3, 3, 3], .uniform(padding: 1)),
            ("3d stride 2", [2, 2, 6, 5, 6], [2, 2, 3, 3, 3], .uniform(stride: 2, padding: 1)),
            ("3d dilation 2", [1, 2, 7, 7, 6], [2, 2, 3, 3, 3], .uniform(padding: 2, dilation: 2)),
            ("3d depthwise", [1, 4, 5, 5, 5], [4, 1, 3, 3, 3], .uniform(padding: 1, groups: 4)),
            ("3d groups 2, 1×1×1", [1, 4, 3, 4, 5], [6, 2, 1, 1, 1], .uniform(groups: 2)),
            ("2d", [2, 3, 7, 6], [4, 3, 3, 3], .uniform(padding: 1, dims: 2)),
            ("2d stride 2 dilation 2", [1, 2, 9, 9], [3, 2, 3, 3], .uniform(stride: 2, padding: 2, dilation: 2, dims: 2)),
        ]
        for (name, xs, ws, p) in configs {
            let x = random(xs, seed: 5), w = random(ws, seed: 6), b = random([ws[0]], seed: 7)
            let probe = try x.conv(w, bias: b, p)
            let weights = Tensor(uniform: probe.shape, bound: 1, seed: 8, requiresGrad: false)
            let f = { try (x.conv(w, bias: b, p) * weights).sum() }
            XCTAssertLessThan(try GradientCheck.check(x, samples: 40, f), 2e-2, "\(name) dx")
            XCTAssertLessThan(try GradientCheck.check(w, samples: 40, f), 2e-2, "\(name) dw")
            XCTAssertLessThan(try GradientCheck.check(b, f), 2e-2, "\(name) db")
        }
    }

    func testConvolutionMatchesDirectSum() throws {
        // 3D, stride 2, padding 1, dilation 1, groups 2 against a direct 7-loop sum
        let x = random([1, 4, 5, 6, 5], seed: 11), w = random([4, 2, 3, 2, 3], seed: 12)
        let y = try x.conv(w, .init(stride: [2, 1, 2], padding: [1, 0, 1], dilation: [1, 2, 1], groups: 2))
        let (d, h, ww) = (5, 6, 5)
        let od = (d + 2 - 2 - 1) / 2 + 1, oh = (h - 2 * 1 - 1) / 1 + 1, ow = (ww + 2 - 2 - 1) / 2 + 1
        XCTAssertEqual(y.shape, [1, 4, od, oh, ow])
        for o in 0..<4 { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
            let g = o / 2
            var s: Float = 0
            for ci in 0..<2 { for a in 0..<3 { for bb in 0..<2 { for cc in 0..<3 {
                let (iz, iy, ix) = (z * 2 - 1 + a, yy + bb * 2, xx * 2 - 1 + cc)
                guard iz >= 0, iz < d, iy >= 0, iy < h, ix >= 0, ix < ww else { continue }
                s += x.data[(((g * 2 + ci) * d + iz) * h + iy) * ww + ix] * w.data[(((o * 2 + ci) * 3 + a) * 2 + bb) * 3 + cc]
            } } } }
            XCTAssertEqual(y.data[((o * od + z) * oh + yy) * ow + xx], s, accuracy: 1e-4)
        } } } }
    }
}

final class CheckpointTests: XCTestCase {
    func testCheckpointGivesTheSameGradientsWithoutKeepingActivations() throws {
        func run(checkpointed: Bool) throws -> ([Float], [Float], [Float], Bool) {
            let x = Tensor(uniform: [1, 2, 5, 5, 5], bound: 1, seed: 1)
            let w1 = Tensor(uniform: [3, 2, 3, 3, 3], bound: 0.3, seed: 2), w2 = Tensor(uniform: [2, 3, 3, 3, 3], bound: 0.3, seed: 3)
            let block: ([Tensor]) throws -> Tensor = { ins in try ins[0].conv(w1, .uniform(padding: 1)).instanceNorm().relu().conv(w2, .uniform(padding: 1)) }
            let y = checkpointed ? try Tensor.checkpoint([x], block) : try block([x])
            let r = Tensor(uniform: y.shape, bound: 1, seed: 4, requiresGrad: false)
            // With checkpointing the output hangs from one joint node (a single value) whose only
            // parent is the block input: no stored intermediates.
            let joint = y.parentsForTesting.count == 1 ? y.parentsForTesting[0] : nil
            let storesNothing = joint.map { $0.count == 1 && $0.parentsForTesting.count == 1 && $0.parentsForTesting[0] === x } ?? false
            (y * r).sum().backward()
            return (x.grad ?? [], w1.grad ?? [], w2.grad ?? [], storesNothing)
        }
        let plain = try run(checkpointed: false), ckpt = try run(checkpointed: true)
        XCTAssertTrue(ckpt.3)
        XCTAssertFalse(plain.3)
        for (a, b) in [(plain.0, ckpt.0), (plain.1, ckpt.1), (plain.2, ckpt.2)] {
            XCTAssertEqual(a.count, b.count)
            for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-5) }
        }
    }
}

final class LayoutTests: XCTestCase {
    func testComplexChannelsAndVolumeRoundTrip() throws {
        let interleaved = (0..<(2 * 2 * 3 * 4)).map { Float($0) }
        let t = try Tensor.fromComplex(interleaved, n: 2, h: 3, w: 4)
        XCTAssertEqual(t.shape, [2, 2, 3, 4])
        XCTAssertEqual(t.data[0], 0); XCTAssertEqual(t.data[12], 1)   // re and im of pixel 0
        XCTAssertEqual(try t.toComplex(), interleaved)
        let v = try Volume(shape: [4, 3, 2], affine: .scaling([1.5, 2, 3], origin: [1, 2, 3]), data: (0..<24).map(Float.init))
        let tv = Tensor(volume: v)
        XCTAssertEqual(tv.shape, [1, 1, 2, 3, 4])
        let back = try tv.volume(like: v)
        XCTAssertEqual(back.data, v.data)
        XCTAssertEqual(back.affine, v.affine)
        XCTAssertThrowsError(try Tensor(zeros: [1, 1, 2, 2, 2]).volume(like: v))
    }
}
