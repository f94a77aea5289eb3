import Foundation
import GantryCore
import GantryMetrics
import GantryNN

/// Trains a RIM/CIRIM on fully sampled multi-coil slices with retrospective undersampling: each
/// step draws a slice and a fresh mask (kind, acceleration with its centre fraction, seed — seeds
/// start at 10⁶, so evaluation masks with small seeds are never seen), runs every cascade and
/// time step, and minimises `RIMLoss` (by default normalised by the target's maximum) with Adam. After each epoch: validation PSNR/SSIM on fixed
/// masks, the latest weights to `<output>.last.safetensors` (what `resume` continues from), and
/// the best-by-validation-SSIM weights to `output`.
public struct ReconTrainer {
    public struct Options: Sendable {
        public var cell = RecurrentCellKind.indRNN
        public var hidden = 32
        public var timeSteps = 8
        public var cascades = 3
        public var noDC = true
        public var epochs = 10
        public var stepsPerEpoch = 50
        public var learningRate = 1e-3
        public var accelerations: [Double] = [4, 8]
        public var centerFractions: [Double] = [0.08, 0.04]
        public var maskKinds: [MaskKind] = [.random, .gaussian1d]
        public var clipNorm = 1.0
        public var lossNormalisation = RIMLoss.Normalisation.targetMax
        public var seed: UInt64 = 1
        /// Weights to start from (fine-tuning, as nnU-Net's `-pretrained_weights`); the architecture
        /// options must match the checkpoint's. Ignored when resuming.
        public var initialWeights: String?
        public init() {}

        public var configuration: RIMConfiguration {
            .make(cell: cell, hidden: hidden, timeSteps: timeSteps, cascades: cascades, noDC: noDC)
        }
    }

    public var options: Options
    public init(options: Options) { self.options = options }

    public struct EpochResult: Sendable { public var loss: Double, psnr: Double, ssim: Double }

    public static func lastPath(_ output: String) -> String { TrainingCheckpoint.lastPath(output) }

    public func train(_ samples: [ReconSample], validation: [ReconSample], output: String, resume: Bool = false,
                      progress: (String) -> Void = { _ in }) throws -> [EpochResult] {
        guard !samples.isEmpty, !validation.isEmpty else { throw GantryError.invalidArgument("training needs at least one training and one validation slice") }
        guard options.accelerations.count == options.centerFractions.count, !options.accelerations.isEmpty, !options.maskKinds.isEmpty else {
            throw GantryError.invalidArgument("give one centre fraction per acceleration and at least one mask kind")
        }
        let model = ReconModel(network: try CIRIM(config: options.configuration, seed: options.seed))
        model.network.recomputeSteps = true
        var startEpoch = 0, best = -Double.infinity
        let last = Self.lastPath(output)
        if resume, FileManager.default.fileExists(atPath: last) {
            let (tensors, meta) = try SafeTensors.readWithMetadata(last)
            try model.network.parameters.load(tensors, path: last)
            startEpoch = Int(meta["epoch"] ?? "0") ?? 0
            best = Double(meta["best_validation_ssim"] ?? "") ?? best
            progress("resuming after epoch \(startEpoch)")
        } else if let initial = options.initialWeights {
            try model.network.parameters.load(try SafeTensors.read(initial), path: initial)
            progress("starting from the weights of \(initial)")
        }
        let total = options.epochs * options.stepsPerEpoch
        let opt = Optimizer(model.network.parameters.all, kind: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: false),
                            learningRate: options.learningRate, schedule: .poly(power: 0.9, total: total))
        let loss = RIMLoss(normalisation: options.lossNormalisation)
        let validationSet = try validation.enumerated().map { i, s in
            try s.undersampled(try SamplingMask(kind: options.maskKinds[i % options.maskKinds.count], acceleration: options.accelerations[i % options.accelerations.count],
                                                centerFraction: options.centerFractions[i % options.accelerations.count], seed: UInt64(500 + i)).make(ny: s.ny, nx: s.nx))
        }
        var history: [EpochResult] = []
        let t0 = Date()
        for epoch in startEpoch..<options.epochs {
            var rng = SeededRandom(seed: options.seed, stream: UInt64(epoch))
            var lossSum = 0.0
            for step in 0..<options.stepsPerEpoch {
                let s = samples[Int(rng.next() % UInt64(samples.count))]
                let a = Int(rng.next() % UInt64(options.accelerations.count))
                let kind = options.maskKinds[Int(rng.next() % UInt64(options.maskKinds.count))]
                let mask = try SamplingMask(kind: kind, acceleration: options.accelerations[a], centerFraction: options.centerFractions[a],
                                            seed: 1_000_000 + rng.next() % 1_000_000_000).make(ny: s.ny, nx: s.nx)
                let (acq, target) = try s.undersampled(mask)
                opt.zeroGrad()
                let l = try loss(model.network.forward(try LearnedAcquisition.batch([acq])), target: target)
                l.backward()
                opt.clipGradients(maxNorm: options.clipNorm)
                opt.update()
                lossSum += Double(l.data[0])
                if step % 10 == 9 || step == options.stepsPerEpoch - 1 {
                    let done = Double((epoch - startEpoch) * options.stepsPerEpoch + step + 1), left = Double(total - epoch * options.stepsPerEpoch - step - 1)
                    let eta = Date().timeIntervalSince(t0) / done * left
                    progress(String(format: "epoch %d/%d step %d/%d loss %.4f ETA %.0f s", epoch + 1, options.epochs, step + 1, options.stepsPerEpoch, lossSum / Double(step + 1), eta))
                }
            }
            let (psnr, ssim) = try Self.evaluate(model, validationSet)
            let r = EpochResult(loss: lossSum / Double(options.stepsPerEpoch), psnr: psnr, ssim: ssim)
            history.append(r)
            var meta = ["epoch": String(epoch + 1), "validation_psnr": String(format: "%.3f", psnr), "validation_ssim": String(format: "%.4f", ssim),
                        "training": "gantry train recon, \(samples.count) slices, \(epoch + 1)×\(options.stepsPerEpoch) steps, lr \(options.learningRate)"]
            if ssim > best {
                best = ssim
                try model.save(output, extraMetadata: meta)
            }
            meta["best_validation_ssim"] = String(best)
            try model.save(last, extraMetadata: meta)
            progress(String(format: "epoch %d/%d: loss %.4f, validation PSNR %.2f dB SSIM %.4f%@", epoch + 1, options.epochs, r.loss, psnr, ssim, ssim >= best ? " (best)" : ""))
        }
        return history
    }

    /// Mean PSNR and SSIM (data range = the target's maximum) of the model's reconstructions.
    public static func evaluate(_ model: ReconModel, _ set: [(acquisition: LearnedAcquisition, target: Tensor)]) throws -> (psnr: Double, ssim: Double) {
        let images = try model.reconstruct(set.map(\.acquisition), batchSize: 1)
        var psnr = 0.0, ssim = 0.0
        for (img, (acq, target)) in zip(images, set) {
            let ref = try target.complexMagnitude().data.map { $0 * acq.scale }
            let range = Double(ref.max() ?? 1)
            psnr += ImageMetrics.psnr(img, reference: ref, dataRange: range)
            ssim += try ImageMetrics.ssim(img, reference: ref, slices: 1, ny: acq.op.ny, nx: acq.op.nx, dataRange: range)
        }
        return (psnr / Double(set.count), ssim / Double(set.count))
    }
}
