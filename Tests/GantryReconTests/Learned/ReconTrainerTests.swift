import Foundation
import XCTest
import GantryCore
import GantryIO
import GantryNN
import GantryPhantoms
@testable import GantryRecon

/// Training, checkpoints and the learned path of the reconstructor on a small Shepp–Logan.
final class ReconTrainerTests: XCTestCase {
    /// Four 32×32 slices of a Shepp–Logan, each acquired by 4 simulated coils.
    static func samples() throws -> [ReconSample] {
        let v = try SheppLogan.volume(shape: [32, 32, 8], spacing: 1)
        let file = try CoilSimulation(coils: 4, snr: 60, seed: 2).simulate(v, slices: [2, 3, 4, 5], acquisition: "SL")
        return try ReconSample.slices(of: file)
    }

    static func tinyOptions() -> ReconTrainer.Options {
        var o = ReconTrainer.Options()
        o.hidden = 4; o.timeSteps = 2; o.cascades = 2; o.epochs = 2; o.stepsPerEpoch = 3; o.learningRate = 1e-2; o.seed = 5
        return o
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "gantry-recon-train-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testLossWeightsAndInvariances() throws {
        for (w, e) in zip(RIMLoss.logWeights(3), [Float(0.1), Float(0.1).squareRoot(), 1]) { XCTAssertEqual(w, e, accuracy: 1e-6) }
        XCTAssertEqual(RIMLoss.logWeights(1), [0.1])
        let target = Tensor(uniform: [1, 2, 12, 12], bound: 1, seed: 1, requiresGrad: false)
        // a perfect estimate, at any scale (magnitudes are max-normalised), costs nothing
        let perfect = try RIMLoss()([[target.scaled(3)]], target: target)
        XCTAssertEqual(perfect.data[0], 0, accuracy: 1e-6)
        // normalised by the target's maximum, the intensity scale counts (and the exact one is free)
        XCTAssertGreaterThan(try RIMLoss(normalisation: .targetMax)([[target.scaled(2)]], target: target).data[0] / 0.01, 0.1)
        XCTAssertEqual(try RIMLoss(normalisation: .targetMax)([[target]], target: target).data[0], 0, accuracy: 1e-6)
        let other = Tensor(uniform: [1, 2, 12, 12], bound: 1, seed: 2, requiresGrad: false)
        // one cascade of one step carries weight 0.1 × 0.1: an unrelated image's raw loss is O(1)
        XCTAssertGreaterThan(try RIMLoss()([[other]], target: target).data[0] / 0.01, 0.3)
    }

    /// Repeated Adam steps on one acquisition must drive the loss down: fails if any gradient of the
    /// chain (loss, cells, data term) is wrong.
    func testACIRIMFitsOneSlice() throws {
        let s = try Self.samples()[1]
        let (acq, target) = try s.undersampled(try SamplingMask(kind: .random, acceleration: 4, centerFraction: 0.16, seed: 1).make(ny: s.ny, nx: s.nx))
        let net = try CIRIM(config: .make(cell: .gru, hidden: 6, timeSteps: 2, cascades: 2), seed: 1)
        let opt = Optimizer(net.parameters.all, kind: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: false), learningRate: 5e-3)
        var losses: [Float] = []
        for _ in 0..<25 {
            opt.zeroGrad()
            let l = try RIMLoss()(net.forward(try LearnedAcquisition.batch([acq])), target: target)
            l.backward()
            opt.update()
            losses.append(l.data[0])
        }
        XCTAssertLessThan(losses.last!, 0.7 * losses.first!, "losses \(losses)")
    }

    func testTrainingIsDeterministicWritesBestAndLastAndResumes() throws {
        let dir = try tempDir()
        let data = try Self.samples()
        let (train, val) = (Array(data.prefix(3)), Array(data.suffix(1)))
        let o = Self.tinyOptions()
        let a = try ReconTrainer(options: o).train(train, validation: val, output: "\(dir)/a.safetensors")
        let b = try ReconTrainer(options: o).train(train, validation: val, output: "\(dir)/b.safetensors")
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a.map(\.loss), b.map(\.loss), "same seed, same run")
        let la = try SafeTensors.read(ReconTrainer.lastPath("\(dir)/a.safetensors")), lb = try SafeTensors.read(ReconTrainer.lastPath("\(dir)/b.safetensors"))
        XCTAssertEqual(la.keys.sorted(), lb.keys.sorted())
        for k in la.keys { XCTAssertEqual(la[k]!.data, lb[k]!.data, k) }
        let best = try ReconModel.load("\(dir)/a.safetensors")
        XCTAssertEqual(best.network.config, o.configuration)
        XCTAssertNotNil(best.metadata["validation_ssim"])
        // resuming a 3-epoch run after epoch 2 trains one epoch more
        var o3 = o
        o3.epochs = 3
        let resumed = try ReconTrainer(options: o3).train(train, validation: val, output: "\(dir)/a.safetensors", resume: true)
        XCTAssertEqual(resumed.count, 1)
        XCTAssertEqual(try SafeTensors.readWithMetadata(ReconTrainer.lastPath("\(dir)/a.safetensors")).metadata["epoch"], "3")
    }

    /// Without stored maps a sample takes each mask's calibration region, as `gantry recon` does at
    /// inference: two masks with different centre bands give the maps inference would give each.
    func testCalibrationMapsComeFromEachMasksOwnCentre() throws {
        let v = try SheppLogan.volume(shape: [32, 32, 8], spacing: 1)
        let file = try CoilSimulation(coils: 4, snr: 60, seed: 2).simulate(v, slices: [3], acquisition: "SL")
        let s = try XCTUnwrap(ReconSample.slices(of: file, maps: .calibration).first)
        XCTAssertNil(s.maps)
        var seen: [[Float]] = []
        for centre in [0.125, 0.25] {
            let mask = try SamplingMask(kind: .equispaced, acceleration: 4, centerFraction: centre, seed: 1).make(ny: s.ny, nx: s.nx)
            let (acq, _) = try s.undersampled(mask)
            let inference = try CoilSensitivity.fromCalibration(kspace: s.kspace, mask: mask, coils: s.coils, ny: s.ny, nx: s.nx)
            XCTAssertEqual(acq.op.maps, inference)
            seen.append(acq.op.maps)
        }
        XCTAssertNotEqual(seen[0], seen[1], "a wider centre band gives other maps")
        // the file's own maps stay what `.file` means
        XCTAssertEqual(try ReconSample.slices(of: file, maps: .file).first?.maps, file.sensitivityMaps.map { Array($0.data) })
    }

    /// Fine-tuning starts from the given weights (a vanishing learning rate keeps them), and a
    /// checkpoint of another architecture is refused naming what does not fit.
    func testTrainingStartsFromInitialWeights() throws {
        let dir = try tempDir()
        let data = try Self.samples()
        var o = Self.tinyOptions()
        o.epochs = 1; o.stepsPerEpoch = 1; o.learningRate = 1e-30
        let start = ReconModel(network: try CIRIM(config: o.configuration, seed: 77))
        try start.save("\(dir)/start.safetensors")
        o.initialWeights = "\(dir)/start.safetensors"
        _ = try ReconTrainer(options: o).train(Array(data.prefix(3)), validation: Array(data.suffix(1)), output: "\(dir)/tuned.safetensors")
        let tuned = try SafeTensors.read("\(dir)/tuned.safetensors"), initial = try SafeTensors.read("\(dir)/start.safetensors")
        let fresh = try CIRIM(config: o.configuration, seed: o.seed).parameters.stateDict
        XCTAssertEqual(tuned.keys.sorted(), initial.keys.sorted())
        for k in initial.keys {
            XCTAssertLessThan(zip(tuned[k]!.data, initial[k]!.data).map { abs($0 - $1) }.max() ?? 0, 1e-20, k)
        }
        XCTAssertTrue(initial.contains { $0.value.data != fresh[$0.key]!.data }, "the seed alone would give other weights")
        o.cascades = 3
        XCTAssertThrowsError(try ReconTrainer(options: o).train(Array(data.prefix(3)), validation: Array(data.suffix(1)), output: "\(dir)/other.safetensors")) {
            XCTAssertTrue("\($0)".contains("parameter"), "\($0)")
        }
    }

    func testCheckpointRoundTripAndLearnedReconstructionPath() throws {
        let dir = try tempDir()
        let model = ReconModel(network: try CIRIM(config: .make(cell: .indRNN, hidden: 4, timeSteps: 2, cascades: 2), seed: 3))
        try model.save("\(dir)/m.safetensors")
        let back = try ReconModel.load("\(dir)/m.safetensors")
        let v = try SheppLogan.volume(shape: [32, 32, 4], spacing: 1)
        let file = try CoilSimulation(coils: 4, seed: 1).simulate(v, slices: [1, 2], acquisition: "SL")
        var options = ReconOptions(method: .cirim, mask: SamplingMask(kind: .random, acceleration: 4, centerFraction: 0.16, seed: 1), maps: .file)
        options.model = model
        let r1 = try Reconstructor.run(file, options: options)
        options.model = back
        options.batchSize = 1
        let r2 = try Reconstructor.run(file, options: options)
        XCTAssertEqual(r1.images, r2.images, "reloaded weights, batched or not, give the same images")
        XCTAssertEqual(r1.images.count, 2 * 32 * 32)
        // a two-cascade model is not a RIM; learned methods need a model
        options.method = .rim
        XCTAssertThrowsError(try Reconstructor.run(file, options: options)) { XCTAssertTrue("\($0)".contains("cascades")) }
        options.model = nil
        XCTAssertThrowsError(try Reconstructor.run(file, options: options)) { XCTAssertTrue("\($0)".contains("model")) }
        // a segmentation-style file is refused with a one-line reason
        try SafeTensors.write(["w": Tensor(shape: [1], data: [1])], to: "\(dir)/other.safetensors")
        XCTAssertThrowsError(try ReconModel.load("\(dir)/other.safetensors")) { XCTAssertTrue("\($0)".contains("not a Gantry RIM/CIRIM checkpoint")) }
    }
}
