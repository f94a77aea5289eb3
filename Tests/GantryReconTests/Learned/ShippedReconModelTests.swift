import Foundation
import XCTest
import GantryCore
import GantryIO
import GantryNN
import GantryPhantoms
@testable import GantryRecon

/// The shipped RIM/CIRIM checkpoints load with the architecture their names promise and
/// reconstruct an acquisition none of them was trained on (a Shepp–Logan, 8 coils, 4×) better than
/// zero-filling and than the same network untrained: fails on a damaged, mislabelled or untrained
/// file.
final class ShippedReconModelTests: XCTestCase {
    static let models: [(file: String, cascades: Int, cell: RecurrentCellKind)] = [
        ("cirim-indrnn", 3, .indRNN), ("cirim-gru", 3, .gru), ("rim-indrnn", 1, .indRNN), ("rim-gru", 1, .gru),
        ("cirim-indrnn-brain", 3, .indRNN), ("rim-indrnn-brain", 1, .indRNN), ("cirim-indrnn-4coil", 3, .indRNN),
    ]

    func testShippedModelsLoadAndBeatZeroFilling() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("models")
        let v = try SheppLogan.volume(shape: [64, 64, 8], spacing: 1)
        let file = try CoilSimulation(coils: 8, snr: 60, seed: 4).simulate(v, slices: [3, 4], acquisition: "SL")
        let mask = SamplingMask(kind: .random, acceleration: 4, centerFraction: 0.08, seed: 2)
        let zf = try ReconReport.scoring(Reconstructor.run(file, options: ReconOptions(method: .zeroFilled, mask: mask, maps: .calibration)), against: file, method: "zf")
        let zfPSNR = try XCTUnwrap(zf.psnr)
        for m in Self.models {
            let model = try ReconModel.load(root.appendingPathComponent("\(m.file).safetensors").path)
            XCTAssertEqual(model.network.config.numCascades, m.cascades, m.file)
            XCTAssertEqual(model.network.config.recurrentLayer, m.cell, m.file)
            var options = ReconOptions(method: m.cascades == 1 ? .rim : .cirim, mask: mask, maps: .calibration)
            options.model = model
            let psnr = try XCTUnwrap(ReconReport.scoring(Reconstructor.run(file, options: options), against: file, method: m.file).psnr)
            options.model = ReconModel(network: try CIRIM(config: model.network.config, seed: 1))
            let untrained = try XCTUnwrap(ReconReport.scoring(Reconstructor.run(file, options: options), against: file, method: "untrained").psnr)
            XCTAssertGreaterThan(psnr, zfPSNR + 1, "\(m.file): PSNR \(psnr) vs zero-filled \(zfPSNR)")
            XCTAssertGreaterThan(psnr, untrained + 1, "\(m.file): PSNR \(psnr) vs untrained \(untrained)")
        }
    }
}
