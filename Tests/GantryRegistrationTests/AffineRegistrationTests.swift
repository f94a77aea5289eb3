import Foundation
import GantryCore
import GantryPhantoms
@testable import GantryRegistration
import XCTest

final class AffineRegistrationTests: XCTestCase {
    /// A textured, asymmetric brain: real Colin27 anatomy when installed, else the ellipsoid phantom.
    static func brain(spacing: Double = 3) throws -> Volume {
        let anatomy = FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path)
            ? try BrainAnatomy.colin27(spacing: spacing) : try BrainAnatomy.ellipsoid(shape: [56, 64, 56], spacing: spacing)
        let s = try BrainTumourPhantom(anatomy: anatomy).subject(seed: 9)
        return try XCTUnwrap(s.contrasts[.t1])
    }

    func meanError(_ found: Affine, _ truth: Affine, on v: Volume) -> Double {
        let s = v.spatialShape
        var sum = 0.0, n = 0
        for k in stride(from: 0, to: s[2], by: 2) { for j in stride(from: 0, to: s[1], by: 2) { for i in stride(from: 0, to: s[0], by: 2) where v[i, j, k] > 0.1 {
            let w = v.affine.apply((Double(i), Double(j), Double(k)))
            let a = found.apply(w), b = truth.apply(w)
            sum += ((a.0 - b.0) * (a.0 - b.0) + (a.1 - b.1) * (a.1 - b.1) + (a.2 - b.2) * (a.2 - b.2)).squareRoot(); n += 1
        } } }
        return sum / Double(max(n, 1))
    }

    func testLocalNCCIsInvariantToASmoothIntensityBias() throws {
        // f·(1 + slow ramp) has global NCC < 1 with f, but local NCC ≈ 1 (windows see ~constant gain).
        let s = [20, 20, 20]
        var g = SeededRandom(seed: 2)
        let f = (0..<8000).map { _ in Float(g.uniform()) }
        let m = (0..<8000).map { i -> Float in f[i] * (1 + 2 * Float(i % 20) / 20) }
        let valid = [Bool](repeating: true, count: 8000)
        let local = -Similarity.lncc.cost(f, m, valid: valid, shape: s), global = -Similarity.ncc.cost(f, m, valid: valid)
        XCTAssertGreaterThan(local, 0.97)
        XCTAssertLessThan(global, local - 0.05)
        // an unrelated image scores near zero
        let u = (0..<8000).map { _ in Float(g.uniform()) }
        XCTAssertLessThan(abs(Similarity.lncc.cost(f, u, valid: valid, shape: s)), 0.1)
    }

    func testParameterisationAndITKRoundTrip() throws {
        let t = AffineTransform(parameters: [1, 2, 3, 0.1, -0.2, 0.3, 0.05, -0.02, 0.01, 0.03, 0, -0.04], centre: [10, -5, 7])
        let m = t.matrix
        // the centre maps to centre + translation
        let c = m.apply((10, -5, 7))
        XCTAssertEqual(c.0, 11, accuracy: 1e-12); XCTAssertEqual(c.1, -3, accuracy: 1e-12); XCTAssertEqual(c.2, 10, accuracy: 1e-12)
        let back = try ITKTransformFile.parse(ITKTransformFile.text(m), path: "t.txt")
        XCTAssertLessThan(back.maxDifference(m), 1e-8)
        // rigid part is a rotation: determinant of the 3×3 with zero scales/shears is 1
        let r = AffineTransform(parameters: [0, 0, 0, 0.3, 0.2, -0.1]).matrix
        let det = r[0, 0] * (r[1, 1] * r[2, 2] - r[1, 2] * r[2, 1]) - r[0, 1] * (r[1, 0] * r[2, 2] - r[1, 2] * r[2, 0]) + r[0, 2] * (r[1, 0] * r[2, 1] - r[1, 1] * r[2, 0])
        XCTAssertEqual(det, 1, accuracy: 1e-12)
    }

    func testRecoversAKnownAffine() throws {
        let fixed = try Self.brain()
        let centre = AffineRegistration.centreOfMass(fixed)
        // moving(y) = fixed(G·y): registration must find T = G⁻¹ (fixed world → moving world)
        let g = AffineTransform(parameters: [6, -4, 5, 0.12, -0.08, 0.1, 0.06, -0.05, 0.03, 0.04, 0, -0.03], centre: centre).matrix
        let warped = try Warp.affine(fixed, shape: fixed.spatialShape, affine: fixed.affine, transform: g)
        let moving = try fixed.with(data: warped.data)
        let found = try AffineRegistration(kind: .affine, metric: .ncc).run(fixed: fixed, moving: moving)
        let truth = try XCTUnwrap(g.inverse)
        let err = meanError(found.matrix, truth, on: fixed)
        print(String(format: "affine recovery: mean error %.3f mm (voxel %.1f mm)", err, fixed.spacing[0]))
        XCTAssertLessThan(err, 0.5 * fixed.spacing[0])
    }

    /// A bright shell around the brain that does not move (a skull and scalp the head motion left
    /// behind) pulls an unmasked registration towards identity; a fixed brain mask leaves it out, as
    /// ANTs' -x does, and the brain's own motion is found.
    func testAFixedMaskKeepsWhatLiesOutsideItFromPullingTheRegistration() throws {
        let brain = try Self.brain()
        let s = brain.spatialShape
        let inside = brain.data.map { $0 > 0.05 }
        // the shell: three 6-neighbour dilations of the brain, minus the brain
        var grown = inside
        for _ in 0..<3 {
            var next = grown
            for k in 0..<s[2] { for j in 0..<s[1] { for i in 0..<s[0] where !grown[i + s[0] * (j + s[1] * k)] {
                for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let a = i + di, b = j + dj, c = k + dk
                    if a >= 0, b >= 0, c >= 0, a < s[0], b < s[1], c < s[2], grown[a + s[0] * (b + s[1] * c)] { next[i + s[0] * (j + s[1] * k)] = true; break }
                }
            } } }
            grown = next
        }
        let shell = zip(grown, inside).map { $0 && !$1 }
        let fixed = try brain.with(data: zip(brain.data, shell).map { $1 ? 1.5 : $0 })
        let g = AffineTransform(parameters: [5, -4, 3, 0.06, -0.04, 0.05], centre: AffineRegistration.centreOfMass(brain)).matrix
        let moved = try Warp.affine(brain, shape: s, affine: brain.affine, transform: g).data
        let moving = try brain.with(data: zip(moved, shell).map { $0 > 0.05 ? $0 : ($1 ? 1.5 : 0) })
        let mask = try brain.with(data: inside.map { $0 ? 1 : 0 })
        let truth = try XCTUnwrap(g.inverse)
        let plain = try AffineRegistration(kind: .rigid, metric: .ncc).run(fixed: fixed, moving: moving)
        let masked = try AffineRegistration(kind: .rigid, metric: .ncc).run(fixed: fixed, moving: moving, masks: RegistrationMasks(fixed: mask))
        let e0 = meanError(plain.matrix, truth, on: brain), e1 = meanError(masked.matrix, truth, on: brain)
        print(String(format: "static shell around a moved brain: mean error %.3f mm unmasked, %.3f mm with the fixed mask", e0, e1))
        XCTAssertLessThan(e1, 0.5 * brain.spacing[0])
        XCTAssertGreaterThan(e0, 2 * e1, "the shell must matter without the mask, or this test shows nothing")

        // The whole affine + deformable registration with both masks (the moving brain's mask moved
        // with it) puts more of the brain on the fixed brain than without. (The phantom's grid is
        // tight, so the moved brain is cropped and neither reaches a whole-brain overlap here; the
        // held-out whole-head pairs of scripts/eval_wholehead_registration.py carry the figures.)
        var dices: [Double] = []
        let movingMask = try brain.with(data: moved.map { $0 > 0.05 ? 1 : 0 })
        for (masks, label) in [(RegistrationMasks(), "unmasked"), (RegistrationMasks(fixed: mask, moving: movingMask), "masked")] {
            let r = try Registration.run(fixed: fixed, moving: moving, type: .syn, masks: masks)
            let warped = try r.warpLabels(movingMask, onto: brain)
            var tp = 0.0, fp = 0.0, fn = 0.0
            for i in warped.data.indices {
                let p = warped.data[i] > 0, t = inside[i]
                if p && t { tp += 1 } else if p { fp += 1 } else if t { fn += 1 }
            }
            let dice = 2 * tp / (2 * tp + fp + fn)
            print(String(format: "static shell, syn %@: brain Dice %.3f", label, dice))
            dices.append(dice)
        }
        XCTAssertGreaterThan(dices[1], dices[0] + 0.03)
    }

    func testRigidWithMutualInformationAcrossContrasts() throws {
        let anatomy = FileManager.default.fileExists(atPath: BrainAnatomy.colin27Path)
            ? try BrainAnatomy.colin27(spacing: 3) : try BrainAnatomy.ellipsoid(shape: [56, 64, 56], spacing: 3)
        let s = try BrainTumourPhantom(anatomy: anatomy).subject(seed: 4)
        let fixed = try XCTUnwrap(s.contrasts[.t1]), t2 = try XCTUnwrap(s.contrasts[.t2])
        let g = AffineTransform(parameters: [-5, 3, 4, -0.1, 0.06, 0.08], centre: AffineRegistration.centreOfMass(fixed)).matrix
        let moving = try t2.with(data: try Warp.affine(t2, shape: t2.spatialShape, affine: t2.affine, transform: g).data)
        let found = try AffineRegistration(kind: .rigid, metric: .mi).run(fixed: fixed, moving: moving)
        let err = meanError(found.matrix, try XCTUnwrap(g.inverse), on: fixed)
        print(String(format: "rigid T1↔T2 (MI): mean error %.3f mm", err))
        XCTAssertLessThan(err, 0.5 * fixed.spacing[0])
    }

    /// The one-pass gradient (metric derivative × interpolated image gradient × ∂A/∂p) against
    /// central differences of the cost itself, on a smooth image (so the central-difference image
    /// gradient and the derivative of the trilinear interpolant agree), for MSE and NCC, every
    /// parameter. The moving grid is 8 voxels wider on every side than the fixed one, so every sample
    /// stays inside it: a voxel entering or leaving the overlap changes the cost in a way the finite
    /// differences see and the analytic gradient, like ITK's, leaves out.
    func testAnalyticCostGradientMatchesFiniteDifferences() throws {
        let wide = try Self.brain(spacing: 3).padded(before: [8, 8, 8], after: [8, 8, 8]).gaussianSmoothed(sigmaMM: [6, 6, 6])
        let s = wide.spatialShape
        let fixed = try wide.cropped(lower: [8, 8, 8], upper: s.map { $0 - 8 })
        let centre = AffineRegistration.centreOfMass(fixed)
        let g = AffineTransform(parameters: [3, -2, 2, 0.05, -0.04, 0.03, 0.03, -0.02, 0.02, 0.02, 0, -0.01], centre: centre).matrix
        let moving = try wide.with(data: try Warp.affine(wide, shape: s, affine: wide.affine, transform: g).data)
        let p = [-1.0, 1.5, -0.5, 0.02, 0.03, -0.02, -0.01, 0.02, 0.01, -0.01, 0.02, 0.01]
        for metric in [Similarity.mse, .ncc, .mi] {
            let objective = try AffineObjective(fixed: fixed, moving: moving, metric: metric, centre: centre)
            let analytic = try XCTUnwrap(objective.costAndGradient(p, active: 12))
            XCTAssertEqual(analytic.cost, objective.cost(p), accuracy: 1e-9 * max(1, abs(analytic.cost)))
            // steps moving the image by ~0.1 mm: 0.1 in translation, 0.1/60 rad or log-scale or shear
            let h = (0..<12).map { $0 < 3 ? 0.1 : 0.1 / 60 }
            let numeric = (0..<12).map { i -> Double in
                var a = p, b = p
                a[i] += h[i]; b[i] -= h[i]
                return (objective.cost(a) - objective.cost(b)) / (2 * h[i])
            }
            // compare in units where each parameter moves the image about as far (×60 for the linear part)
            let scaled = { (v: [Double]) in (0..<12).map { v[$0] / ($0 < 3 ? 1 : 60) } }
            let (ga, gn) = (scaled(analytic.gradient), scaled(numeric))
            let err = zip(ga, gn).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let norm = gn.map { $0 * $0 }.reduce(0, +).squareRoot()
            print(String(format: "%@ gradient: relative error %.4f (|g| %.3g)", metric.rawValue, err / norm, norm))
            XCTAssertGreaterThan(norm, 0)
            XCTAssertLessThan(err / norm, 0.03, "\(metric)")
        }
    }
}
