import XCTest
import GantryCore
import GantryNN
@testable import GantryRecon

/// Finite-difference checks of the recurrent cells, the ConvNonlinear layer and the data term.
final class RecurrentCellTests: XCTestCase {
    func testCellGradientsMatchFiniteDifferences() throws {
        for kind in RecurrentCellKind.allCases {
            let p = ParameterStore(seed: 1)
            let cell = ConvRecurrentCell(kind: kind, prefix: "rnn", inChannels: 3, hidden: 4, kernel: 3, dilation: 2, bias: true)
            let x = Tensor(uniform: [1, 3, 6, 5], bound: 1, seed: 2)
            let h = Tensor(uniform: [1, 4, 6, 5], bound: 1, seed: 3)
            let r = Tensor(uniform: [1, 4, 6, 5], bound: 1, seed: 4, requiresGrad: false)
            let f = { try (cell(x, h, p) * r).sum() }
            _ = try f()
            // O(1) weights (the reference initialisations are tiny, which puts IndRNN's pre-activations
            // at ReLU's kink, where finite differences are meaningless)
            for (i, w) in p.tensors.values.enumerated() { w.data = Tensor(uniform: w.shape, bound: 0.5, seed: UInt64(10 + i)).data }
            XCTAssertLessThan(try GradientCheck.check(x, eps: 1e-3, f), 2e-2, "\(kind) input")
            XCTAssertLessThan(try GradientCheck.check(h, eps: 1e-3, f), 2e-2, "\(kind) hidden")
            for (name, w) in p.tensors {
                XCTAssertLessThan(try GradientCheck.check(w, samples: 12, eps: 1e-3, f), 2e-2, "\(kind) \(name)")
            }
            let expected = kind == .indRNN ? ["rnn.ih.weight", "rnn.ih.bias", "rnn.hh"] : ["rnn.ih.weight", "rnn.ih.bias", "rnn.hh.weight"]
            XCTAssertEqual(Set(p.tensors.keys), Set(expected))
        }
    }

    func testGRUKeepsTheHiddenStateWhenTheUpdateGateIsOpen() throws {
        // z = σ(large) ≈ 1 → h' ≈ h, whatever the input: the defining property of the update gate.
        let p = ParameterStore(seed: 1)
        let cell = ConvRecurrentCell(kind: .gru, prefix: "g", inChannels: 2, hidden: 2, kernel: 1, dilation: 1, bias: true)
        let x = Tensor(uniform: [1, 2, 3, 3], bound: 1, seed: 5), h = Tensor(uniform: [1, 2, 3, 3], bound: 1, seed: 6)
        _ = try cell(x, h, p)
        p.tensors["g.ih.bias"]!.data = [0, 0, 50, 50, 0, 0]
        let y = try cell(x, h, p)
        for (a, b) in zip(y.data, h.data) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    /// g = Aᴴ(Ax − y) must be the gradient of ½‖Ax − y‖² (checked numerically on the objective), and
    /// its backward the adjoint AᴴA (checked by finite differences of Σ g·r).
    func testLogLikelihoodGradientIsTheDataFidelityGradient() throws {
        let (coils, ny, nx) = (3, 6, 8)
        let maps = ComplexBuffer.random(coils * ny * nx, seed: 1)
        let mask = (0..<(ny * nx)).map { Float(($0 * 7) % 3 == 0 ? 1 : 0) }
        let op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        let y = try op.forward(ComplexBuffer.random(ny * nx, seed: 2))
        let batch = try SenseBatch(operators: [op], kspace: [y])
        let x = try Tensor.fromComplex(ComplexBuffer.random(ny * nx, seed: 3), n: 1, h: ny, w: nx)
        x.requiresGrad = true
        let g = try Tensor.noGrad { try x.logLikelihoodGradient(batch) }
        func fidelity(_ v: [Float]) throws -> Double {
            let r = try op.forward(try Tensor(shape: [1, 2, ny, nx], data: v).toComplex())
            return 0.5 * zip(r, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        }
        for i in stride(from: 0, to: x.count, by: 5) {
            var up = x.data, down = x.data
            up[i] += 1e-2; down[i] -= 1e-2
            let numeric = (try fidelity(up) - fidelity(down)) / 2e-2
            XCTAssertEqual(Double(g.data[i]), numeric, accuracy: 1e-3 * max(1, abs(numeric)))
        }
        let r = Tensor(uniform: [1, 2, ny, nx], bound: 1, seed: 4, requiresGrad: false)
        XCTAssertLessThan(try GradientCheck.check(x, eps: 1e-2) { (try x.logLikelihoodGradient(batch) * r).sum() }, 1e-3)
    }

    func testConvNonlinearReplicatesEdgesAndMatchesFiniteDifferences() throws {
        let p = ParameterStore(seed: 2)
        let layer = ConvNonlinear(prefix: "c", inChannels: 2, outChannels: 3, kernel: 3, dilation: 2, bias: true, relu: true)
        let x = Tensor(uniform: [1, 2, 7, 6], bound: 1, seed: 7)
        let y = try layer(x, p)
        XCTAssertEqual(y.shape, [1, 3, 7, 6], "same size: replication padding of dilation·(k−1)/2")
        XCTAssertEqual(p.tensors["c.conv_layer.weight"]?.shape, [3, 2, 3, 3])
        let r = Tensor(uniform: [1, 3, 7, 6], bound: 1, seed: 8, requiresGrad: false)
        XCTAssertLessThan(try GradientCheck.check(x, eps: 1e-3) { (try layer(x, p) * r).sum() }, 2e-2)
    }
}
