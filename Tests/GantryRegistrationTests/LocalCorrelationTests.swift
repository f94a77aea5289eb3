import Foundation
@testable import GantryRegistration
import XCTest

final class LocalCorrelationTests: XCTestCase {
    let shape = [7, 5, 6]

    func values(seed: UInt64) -> [Float] {
        var state = seed
        return (0..<shape.reduce(1, *)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
    }

    /// Brute-force sum over the clipped (2r+1)³ window around voxel (i, j, k).
    func windowSum(_ v: [Float], _ i: Int, _ j: Int, _ k: Int, r: Int, _ term: (Int) -> Double) -> (sum: Double, count: Int) {
        var s = 0.0, n = 0
        for c in max(0, k - r)...min(shape[2] - 1, k + r) { for b in max(0, j - r)...min(shape[1] - 1, j + r) { for a in max(0, i - r)...min(shape[0] - 1, i + r) {
            s += term(a + shape[0] * (b + shape[1] * c)); n += 1
        } } }
        return (s, n)
    }

    func testBoxSumsAndCountsMatchTheDefinition() {
        let v = values(seed: 3)
        for r in [1, 2, 4] {
            let sums = LocalCorrelation.boxSums(v, shape: shape, radius: r)
            let counts = LocalCorrelation.windowCounts(shape: shape, radius: r)
            for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
                let o = i + shape[0] * (j + shape[1] * k)
                let (s, n) = windowSum(v, i, j, k, r: r) { Double(v[$0]) }
                XCTAssertEqual(Double(sums[o]), s, accuracy: 1e-4, "r \(r) at \(i),\(j),\(k)")
                XCTAssertEqual(Int(counts[o]), n)
            } } }
        }
    }

    /// ∂CC/∂M(x) against a central finite difference of the window at x, its means held fixed.
    func testDerivativeMatchesFiniteDifferences() {
        let f = values(seed: 5), m = values(seed: 9)
        let r = LocalCorrelation.radius
        let (d, dF, _) = LocalCorrelation.derivative(fixed: f, stats: .init(f, shape: shape), moving: m, inside: [])
        for (i, j, k) in [(3, 2, 3), (0, 0, 0), (6, 4, 5), (2, 1, 4)] {
            let o = i + shape[0] * (j + shape[1] * k)
            let muF = windowSum(f, i, j, k, r: r) { Double(f[$0]) }, muM = windowSum(m, i, j, k, r: r) { Double(m[$0]) }
            let (mf, mm) = (muF.sum / Double(muF.count), muM.sum / Double(muM.count))
            // CC of the window with h added to M(x) (or to F(x)), the means unchanged.
            func cc(_ h: Double, onFixed: Bool = false) -> Double {
                let mv = { (p: Int) in Double(m[p]) + (p == o && !onFixed ? h : 0) - mm }
                let fv = { (p: Int) in Double(f[p]) + (p == o && onFixed ? h : 0) - mf }
                let sFM = windowSum(f, i, j, k, r: r) { fv($0) * mv($0) }.sum
                let sFF = windowSum(f, i, j, k, r: r) { fv($0) * fv($0) }.sum
                let sMM = windowSum(m, i, j, k, r: r) { mv($0) * mv($0) }.sum
                return sFM * sFM / (sFF * sMM)
            }
            let h = 1e-4
            XCTAssertEqual(Double(d[o]), (cc(h) - cc(-h)) / (2 * h), accuracy: 2e-3 * max(1, abs(Double(d[o]))), "∂M at \(i),\(j),\(k)")
            XCTAssertEqual(Double(dF[o]), (cc(h, onFixed: true) - cc(-h, onFixed: true)) / (2 * h), accuracy: 2e-3 * max(1, abs(Double(dF[o]))), "∂F at \(i),\(j),\(k)")
        }
    }

    func testALinearIntensityChangeIsPerfectCorrelationAndNoForce() {
        let f = values(seed: 11)
        let m = f.map { 3 * $0 + 1 }
        let (d, _, meanCC) = LocalCorrelation.derivative(fixed: f, stats: .init(f, shape: shape), moving: m, inside: [])
        XCTAssertEqual(meanCC, 1, accuracy: 1e-4)
        XCTAssertLessThan(d.map(abs).max() ?? 1, 1e-3)
    }
}
