import GantryCore
import GantryNN
@testable import GantryRecon
import XCTest

/// The fused GRU / MGU / IndRNN updates against the same formulas written with tensor primitives:
/// values and the gradients of Wx, Uh and h (and IndRNN's recurrent weight).
final class GatedUpdatesTests: XCTestCase {
    func close(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v)), what, file: file, line: line) }
    }

    func testGRUAndMGUMatchTheirComposedFormulas() throws {
        let (n, hid, hw) = (2, 3, [4, 5])
        for gates in [3, 2] {
            let wx = Tensor(uniform: [n, gates * hid] + hw, bound: 2, seed: 1), uh = Tensor(uniform: [n, gates * hid] + hw, bound: 2, seed: 2)
            let h = Tensor(uniform: [n, hid] + hw, bound: 1, seed: 3), r = Tensor(uniform: [n, hid] + hw, bound: 1, seed: 4, requiresGrad: false)
            func grads(_ f: () throws -> Tensor) throws -> [[Float]] {
                for t in [wx, uh, h] { t.zeroGrad() }
                let y = try f()
                (y * r).sum().backward()
                return [y.data, wx.grad ?? [], uh.grad ?? [], h.grad ?? []]
            }
            let fused = try grads { gates == 3 ? try wx.gruUpdate(recurrent: uh, hidden: h) : try wx.mguUpdate(recurrent: uh, hidden: h) }
            let composed = try grads {
                let a = try wx.splitChannels(Array(repeating: hid, count: gates)), u = try uh.splitChannels(Array(repeating: hid, count: gates))
                if gates == 3 {
                    let rg = (a[0] + u[0]).sigmoid(), z = (a[1] + u[1]).sigmoid()
                    let c = (a[2] + rg * u[2]).tanh()
                    return c + z * (h - c)
                }
                let f = (a[0] + u[0]).sigmoid()
                let c = (a[1] + f * u[1]).tanh()
                return c + f * (h - c)
            }
            for (k, what) in ["value", "dWx", "dUh", "dh"].enumerated() { close(fused[k], composed[k], "\(gates == 3 ? "GRU" : "MGU") \(what)") }
        }
    }

    func testIndRNNMatchesItsComposedFormula() throws {
        let wx = Tensor(uniform: [2, 3, 4, 5], bound: 1, seed: 1), h = Tensor(uniform: [2, 3, 4, 5], bound: 1, seed: 2)
        let u = Tensor(uniform: [1, 3, 1, 1], bound: 1, seed: 3), r = Tensor(uniform: [2, 3, 4, 5], bound: 1, seed: 4, requiresGrad: false)
        func grads(_ f: () throws -> Tensor) throws -> [[Float]] {
            for t in [wx, h, u] { t.zeroGrad() }
            let y = try f()
            (y * r).sum().backward()
            return [y.data, wx.grad ?? [], h.grad ?? [], u.grad ?? []]
        }
        let fused = try grads { try wx.indRNNUpdate(hidden: h, weight: u) }, composed = try grads { try (wx + h.multiplying(u)).relu() }
        for (k, what) in ["value", "dWx", "dh", "du"].enumerated() { close(fused[k], composed[k], "IndRNN \(what)") }
        XCTAssertThrowsError(try wx.indRNNUpdate(hidden: h, weight: Tensor(zeros: [1, 2, 1, 1])))
    }
}
