import Foundation
import GantryCore
import GantryMetrics
import GantryPhantoms
@testable import GantryRegistration
import XCTest

final class DemonsTests: XCTestCase {
    func tissueDice(_ a: [Float], _ b: [Float], shape: [Int], affine: Affine) throws -> [Double] {
        try [1, 2, 3].map { l in try SegmentationMetrics.compare(pred: a.map { Int($0) == l }, ref: b.map { Int($0) == l }, shape: shape, affine: affine, withHD95: false).dice }
    }

    func testRecoversAKnownSmoothDeformationDiffeomorphically() throws {
        for similarity in DeformableSimilarity.allCases { try recover(similarity: similarity) }
    }

    /// The moving image also carries a smooth multiplicative bias (×0.6 to ×1.4 across the head)
    /// that the fixed one has not: local correlation does not see it as a misalignment.
    func testLocalCorrelationRecoversADeformationUnderABiasField() throws {
        try recover(similarity: .lncc, bias: true)
    }

    func recover(similarity: DeformableSimilarity, bias: Bool = false) throws {
        let anatomy = FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path)
            ? try BrainAnatomy.colin27(spacing: 2) : try BrainAnatomy.ellipsoid(shape: [80, 96, 80], spacing: 2)
        let subject = try BrainTumourPhantom(anatomy: anatomy).subject(seed: 5)
        let fixed = try XCTUnwrap(subject.contrasts[.t1]), labels = subject.tissue
        let s = fixed.spatialShape
        // A smooth known deformation D (mm): moving(x) = fixed(x + D(x)).
        var d = DisplacementField(shape: s, affine: fixed.affine)
        for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] {
            let o = i + s[0] * (j + s[1] * k)
            let (u, v, w) = (Double(i) / Double(s[0]), Double(j) / Double(s[1]), Double(k) / Double(s[2]))
            d.u[0][o] = Float(5 * sin(2 * .pi * v) * cos(.pi * w))
            d.u[1][o] = Float(4 * sin(2 * .pi * w + 0.5) * cos(.pi * u))
            d.u[2][o] = Float(4 * sin(2 * .pi * u + 1) * sin(.pi * v))
        } } }
        guard let toVoxel = fixed.affine.inverse else { return XCTFail("singular") }
        func through(_ field: DisplacementField) -> (Int, Int, Int) -> (Double, Double, Double) {
            { i, j, k in
                let o = i + s[0] * (j + s[1] * k)
                let w = fixed.affine.apply((Double(i), Double(j), Double(k)))
                return toVoxel.apply((w.0 + Double(field.u[0][o]), w.1 + Double(field.u[1][o]), w.2 + Double(field.u[2][o])))
            }
        }
        var moving = try fixed.with(data: Warp.sample(fixed, shape: s, position: through(d)).data)
        if bias {
            moving = try moving.with(data: moving.data.enumerated().map { o, v in v * Float(0.6 + 0.8 * Double(o % s[0]) / Double(s[0] - 1)) })
        }
        let movingLabels = try labels.with(data: Warp.sample(labels, shape: s, interpolation: .nearest, position: through(d)).data)
        let before = try tissueDice(movingLabels.data, labels.data, shape: s, affine: fixed.affine)

        let t0 = Date()
        var demons = Demons()
        demons.similarity = similarity
        let r = try demons.run(fixed: fixed, moving: moving)
        let seconds = Date().timeIntervalSince(t0)
        let warpedLabels = try Warp.labels(movingLabels, labels: [1, 2, 3], shape: s, position: through(r.forward))
        let after = try tissueDice(warpedLabels, labels.data, shape: s, affine: fixed.affine)
        let jac = r.forward.jacobianDeterminant()
        // inverse consistency: φ⁻¹ ∘ φ ≈ id (mean |residual| in mm over the brain)
        let roundTrip = r.inverse.composed(after: r.forward)
        var icErr = 0.0, n = 0
        for o in 0..<fixed.count where labels.data[o] > 0 {
            icErr += Double((roundTrip.u[0][o] * roundTrip.u[0][o] + roundTrip.u[1][o] * roundTrip.u[1][o] + roundTrip.u[2][o] * roundTrip.u[2][o]).squareRoot()); n += 1
        }
        icErr /= Double(max(n, 1))
        print(String(format: "demons (%@%@): tissue Dice before %@ after %@; min Jacobian %.3f; inverse consistency %.3f mm; %.1f s",
                     similarity.rawValue, bias ? ", bias field" : "", before.map { String(format: "%.3f", $0) }.joined(separator: "/"), after.map { String(format: "%.3f", $0) }.joined(separator: "/"),
                     Double(jac.min() ?? 0), icErr, seconds))
        for (b, a) in zip(before, after) { XCTAssertGreaterThan(a, b) }
        XCTAssertGreaterThanOrEqual(after.reduce(0, +) / 3, 0.9)
        XCTAssertGreaterThan(jac.min() ?? 0, 0, "folding")
        XCTAssertLessThan(icErr, 0.5)
    }
}
