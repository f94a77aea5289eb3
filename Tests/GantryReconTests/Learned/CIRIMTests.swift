import XCTest
import GantryCore
import GantryNN
import GantryPhantoms
@testable import GantryRecon

/// CIRIM behaviour beyond parity: explicit data consistency, single-coil data, configuration checks.
final class CIRIMTests: XCTestCase {
    static func acquisition(coils: Int) throws -> (SenseBatch, SenseOperator, [Float]) {
        let (ny, nx) = (12, 10)
        let maps = coils == 1 ? (0..<(ny * nx)).flatMap { _ in [Float(1), 0] } : CoilSimulation(coils: coils, seed: 1).sensitivities(ny: ny, nx: nx)
        let mask = (0..<(ny * nx)).map { Float(($0 % nx) % 3 == 0 || ($0 % nx) == nx / 2 ? 1 : 0) }
        let op = try SenseOperator(maps: maps, mask: mask, coils: coils, ny: ny, nx: nx)
        let y = try op.forward(ComplexBuffer.random(ny * nx, seed: 3))
        return (try SenseBatch(operators: [op], kspace: [y]), op, y)
    }

    /// The explicit soft-DC step, x ← (Σ|S|²)x − w·Aᴴ(Ax − y), is the k-space rule
    /// k ← k − w·M(k − y) on k = F(S x) followed by SENSE combination, computed here directly.
    func testExplicitDataConsistencyIsSoftDCInKSpace() throws {
        let (batch, op, y) = try Self.acquisition(coils: 4)
        let net = try CIRIM(config: .make(cell: .indRNN, hidden: 3, timeSteps: 1, cascades: 1, noDC: false), seed: 2)
        XCTAssertTrue(net.parameters.isSealed, "every parameter created at construction")
        let w = try XCTUnwrap(net.parameters.tensors["reconstruction_module.0.dc_weight"])
        w.data = [0.7]
        let out = try Tensor.noGrad { try net.forward(batch) }
        // the cascade's estimate before DC: rerun without the DC step on the same weights
        var cfg = net.config
        cfg.noDC = true
        let plain = try CIRIM(config: cfg, seed: 2)
        var state = net.parameters.stateDict
        state["reconstruction_module.0.dc_weight"] = nil
        try plain.parameters.load(state)
        let x = try Tensor.noGrad { try plain.forward(batch) }[0][0]
        let full = try SenseOperator(maps: op.maps, mask: [Float](repeating: 1, count: op.ny * op.nx), coils: op.coils, ny: op.ny, nx: op.nx)
        var k = try full.forward(try x.toComplex())
        for c in 0..<op.coils { for p in 0..<(op.ny * op.nx) where op.mask[p] == 1 { for r in 0..<2 {
            let i = 2 * (c * op.ny * op.nx + p) + r
            k[i] -= 0.7 * (k[i] - y[i])
        } } }
        let expected = try full.adjoint(k)
        let got = try out[0][0].toComplex()
        for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        // and the DC weight gets a gradient that finite differences agree with
        let r = Tensor(uniform: [1, 2, op.ny, op.nx], bound: 1, seed: 4, requiresGrad: false)
        XCTAssertLessThan(try GradientCheck.check(w, eps: 1e-2) { (try net.forward(batch)[0][0] * r).sum() }, 1e-2)
    }

    /// Recomputing each time step in backward (the trainer's memory setting) gives the same loss and
    /// the same gradient for every parameter as keeping all activations, for both cascades and steps.
    func testRecomputedStepsGiveTheSameGradients() throws {
        let (batch, _, _) = try Self.acquisition(coils: 3)
        let target = Tensor(uniform: [1, 2, 12, 10], bound: 1, seed: 5, requiresGrad: false)
        func gradients(recompute: Bool) throws -> (Float, [String: [Float]]) {
            let net = try CIRIM(config: .make(cell: .gru, hidden: 4, timeSteps: 3, cascades: 2), seed: 4)
            net.recomputeSteps = recompute
            let loss = try RIMLoss(normalisation: .targetMax)(net.forward(batch), target: target)
            loss.backward()
            return (loss.data[0], net.parameters.tensors.mapValues { $0.grad ?? [] })
        }
        let (l0, g0) = try gradients(recompute: false), (l1, g1) = try gradients(recompute: true)
        XCTAssertEqual(l0, l1, accuracy: 1e-6)
        XCTAssertEqual(Set(g0.keys), Set(g1.keys))
        var compared = 0
        for (name, a) in g0 {
            let b = try XCTUnwrap(g1[name])
            XCTAssertEqual(a.count, b.count, name)
            XCTAssertFalse(b.isEmpty, "\(name) got no gradient with recomputation")
            let scale = max(a.map(abs).max() ?? 0, 1e-6)
            for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5 * scale, name) }
            compared += 1
        }
        XCTAssertGreaterThan(compared, 10)
    }

    func testSingleCoilDataRun() throws {
        let (batch, _, _) = try Self.acquisition(coils: 1)
        let net = try CIRIM(config: .make(cell: .mgu, hidden: 3, timeSteps: 2, cascades: 2), seed: 1)
        let x = try net.reconstruct(batch)
        XCTAssertEqual(x.shape, [1, 2, 12, 10])
        XCTAssertTrue(x.data.allSatisfy { $0.isFinite })
    }

    func testBadConfigurationsAreRefused() {
        var c = RIMConfiguration()
        c.convFilters = [8, 8, 3]
        XCTAssertThrowsError(try CIRIM(config: c)) { XCTAssertTrue("\($0)".contains("2 filters")) }
        c = RIMConfiguration()
        c.convKernels = [4, 3, 3]
        XCTAssertThrowsError(try CIRIM(config: c)) { XCTAssertTrue("\($0)".contains("odd")) }
        c = RIMConfiguration()
        c.recurrentBias = [true]
        XCTAssertThrowsError(try CIRIM(config: c)) { XCTAssertTrue("\($0)".contains("same length")) }
    }

    /// The default configuration is atommic's CIRIM: IndRNN, 128 channels, 5 cascades × 8 steps,
    /// 980,480 parameters.
    func testDefaultConfigurationHasAtommicsParameterCount() throws {
        let net = try CIRIM(config: RIMConfiguration())
        XCTAssertEqual(net.parameters.count, 980_480)
        XCTAssertEqual(net.config.timeSteps, 8)
        XCTAssertEqual(net.config.recurrentLayer, .indRNN)
    }

    /// Hard data consistency: with the true image as the estimate it gives the fully sampled RSS
    /// image; with a zero estimate, the zero-filled RSS image; with every sample measured, the fully
    /// sampled RSS image whatever the estimate. The estimate is interleaved complex at the
    /// acquisition's scale; through a model the network's channels arrive the same way.
    func testHardDataConsistencyKeepsTheMeasuredSamples() throws {
        let (coils, ny, nx) = (4, 12, 10), plane = ny * nx
        let maps = CoilSimulation(coils: coils, seed: 1).sensitivities(ny: ny, nx: nx)
        let mask = (0..<plane).map { Float(($0 % nx) % 3 == 0 || ($0 % nx) == nx / 2 ? 1 : 0) }
        let truth = ComplexBuffer.random(plane, seed: 3)
        let fullOp = try SenseOperator(maps: maps, mask: [Float](repeating: 1, count: plane), coils: coils, ny: ny, nx: nx)
        let k = try fullOp.forward(truth)
        func rss(_ kspace: [Float]) throws -> [Float] {
            var images = kspace
            try FFTPlan.plan(shape: [ny, nx], batch: coils).inverse(&images)
            return ComplexBuffer.rss(images, coils: coils, pixels: plane)
        }
        let scaled = { (x: [Float], scale: Float) in x.map { $0 / scale } }
        func assertClose(_ a: [Float], _ b: [Float], _ what: String) {
            XCTAssertEqual(a.count, b.count)
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-4 * (b.max() ?? 1), what)
        }
        let acquisition = try LearnedAcquisition(kspace: k, mask: mask, maps: maps, coils: coils, ny: ny, nx: nx)
        let s = acquisition.scale
        assertClose(try acquisition.dataConsistentMagnitude(scaled(truth, s)).map { $0 * s }, try rss(k), "true estimate")
        let masked = (0..<k.count).map { mask[($0 / 2) % plane] == 0 ? 0 : k[$0] }
        assertClose(try acquisition.dataConsistentMagnitude([Float](repeating: 0, count: 2 * plane)).map { $0 * s }, try rss(masked), "zero estimate")
        let everySample = try LearnedAcquisition(kspace: k, mask: [Float](repeating: 1, count: plane), maps: maps, coils: coils, ny: ny, nx: nx)
        let guess = ComplexBuffer.random(plane, seed: 8)
        assertClose(try everySample.dataConsistentMagnitude(scaled(guess, 1)).map { $0 * everySample.scale }, try rss(k), "every sample measured")
        XCTAssertThrowsError(try acquisition.dataConsistentMagnitude([0, 1]))
        // through a model: the network's [N, 2, H, W] estimate, kept consistent, equals the rule
        // applied to its interleaved values
        let net = try CIRIM(config: .make(cell: .indRNN, hidden: 3, timeSteps: 2, cascades: 1, noDC: true), seed: 5)
        let pair = [acquisition, everySample]
        let estimates = try net.reconstruct(LearnedAcquisition.batch(pair)).toComplex()
        let viaModel = try ReconModel(network: net).reconstruct(pair, batchSize: 2, dataConsistent: true)
        XCTAssertEqual(viaModel, try pair.enumerated().map { i, a in
            try a.dataConsistentMagnitude(Array(estimates[(2 * i * plane)..<(2 * (i + 1) * plane)])).map { $0 * a.scale }
        })
    }
}
