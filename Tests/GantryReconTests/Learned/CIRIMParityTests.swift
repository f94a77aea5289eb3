import Foundation
import XCTest
import GantryCore
import GantryNN
@testable import GantryRecon

/// Forward and weight-gradient parity with atommic 1.0.1's RIMBlock run as its CIRIM runs it
/// (fixtures from scripts/parity/make_atommic_cirim_fixtures.py).
final class CIRIMParityTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// The fixture's acquisition as a SenseBatch (atommic keeps complex values in a trailing axis of 2).
    static func batch(_ f: [String: Tensor]) throws -> SenseBatch {
        let (k, maps, mask) = (f["kspace"]!, f["maps"]!, f["mask"]!)
        let (b, c, h, w) = (k.shape[0], k.shape[1], k.shape[2], k.shape[3])
        let per = 2 * c * h * w, plane = h * w
        let ops = try (0..<b).map { i in
            try SenseOperator(maps: Array(maps.data[(i * per)..<((i + 1) * per)]), mask: Array(mask.data[(i * plane)..<((i + 1) * plane)]), coils: c, ny: h, nx: w)
        }
        return try SenseBatch(operators: ops, kspace: (0..<b).map { Array(k.data[($0 * per)..<(($0 + 1) * per)]) })
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(b.map(abs).max() ?? 1, 1)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    func check(_ cell: RecurrentCellKind) throws {
        let f = try SafeTensors.read("\(Self.dir)/atommic_cirim_\(cell.rawValue.lowercased()).safetensors")
        var cfg = RIMConfiguration.make(cell: cell, hidden: 6, timeSteps: 2, cascades: 2)
        cfg.noDC = true
        let model = try CIRIM(config: cfg, seed: 3)
        var state: [String: Tensor] = [:]
        for (k, v) in f where k.hasPrefix("state/") { state[String(k.dropFirst(6))] = v }
        try model.parameters.load(state)
        let batch = try Self.batch(f)
        let initial = try batch.senseCombination()
        XCTAssertLessThan(Self.maxError(initial.data, f["initial"]!.data), 1e-5, "SENSE combination")
        let preds = try model.forward(batch)
        var loss: Tensor? = nil
        for (c, steps) in preds.enumerated() {
            for (t, p) in steps.enumerated() {
                let ref = f["pred/\(c)/\(t)"]!
                XCTAssertEqual(p.shape, ref.shape)
                XCTAssertLessThan(Self.maxError(p.data, ref.data), 1e-4, "\(cell) cascade \(c) step \(t)")
                let term = (p * f["r/\(c)/\(t)"]!).sum()
                loss = loss.map { $0 + term } ?? term
            }
        }
        loss!.backward()
        for (name, t) in model.parameters.tensors {
            let ref = try XCTUnwrap(f["grad/\(name)"], name)
            XCTAssertLessThan(Self.maxError(t.grad ?? [], ref.data), 1e-4, "gradient of \(name)")
        }
        XCTAssertEqual(model.parameters.tensors.count, f.keys.filter { $0.hasPrefix("grad/") }.count)
    }

    func testGRUMatchesAtommic() throws { try check(.gru) }
    func testMGUMatchesAtommic() throws { try check(.mgu) }
    func testIndRNNMatchesAtommic() throws { try check(.indRNN) }
}

/// An atommic (Lightning-style) checkpoint exported by scripts/export_atommic_cirim.py loads as a
/// Gantry model and reproduces atommic's estimates.
final class AtommicExportTests: XCTestCase {
    func testExportedAtommicCheckpointLoadsAndRuns() throws {
        let dir = CIRIMParityTests.dir
        let model = try ReconModel.load("\(dir)/atommic_cirim_export.safetensors")
        var cfg = RIMConfiguration.make(cell: .gru, hidden: 6, timeSteps: 8, cascades: 2)
        XCTAssertEqual(model.network.config, cfg, "config from the checkpoint's hyper-parameters, time steps rounded to 8 as atommic runs")
        // the fixture's reference ran 2 steps per cascade: same weights, 2 steps
        cfg.timeSteps = 2
        let two = try ReconModel.load("\(dir)/atommic_cirim_export.safetensors", config: cfg)
        let f = try SafeTensors.read("\(dir)/atommic_cirim_gru.safetensors")
        let x = try two.network.reconstruct(try CIRIMParityTests.batch(f))
        XCTAssertLessThan(CIRIMParityTests.maxError(x.data, f["pred/1/1"]!.data), 1e-4)
    }
}
