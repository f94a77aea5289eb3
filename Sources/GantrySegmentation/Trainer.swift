import Foundation
import GantryCore
import GantryIO
import GantryNN

/// Patch-based training of a segmentation network on a study folder (nnU-Net's recipe, scaled to
/// 2 cores): per-channel z-score over the foreground (`normalisation`), random patches with a third centred on
/// foreground, random flips and intensity scale/shift/noise, Dice (foreground classes) +
/// cross-entropy, Adam with poly learning-rate decay, a checkpoint after every epoch, validation
/// Dice (whole tumour) by sliding window. Deterministic for a seed.
public struct SegmentationTrainer {
    public struct Options: Sendable {
        public var contrasts = ["T1w", "ce-gd_T1w", "T2w", "FLAIR"]
        public var labelSuffix = "label-tumour_dseg"
        public var labels = [0, 1, 2, 3]
        public var channels = [8, 16, 32, 64]
        public var architecture = SegmentationArchitecture.unet
        public var patch = 48
        public var epochs = 10
        public var stepsPerEpoch = 40
        public var learningRate = 0.01
        public var validationSubjects = 1
        public var seed: UInt64 = 1
        /// Probability that a patch shows one contrast in every channel (each then scaled, shifted
        /// and noised on its own), labels unchanged: what a user with only a T1 gives, so the
        /// network learns that channels agreeing is not a lesion (missing-modality augmentation).
        public var singleContrastProbability = 0.0
        /// How images are normalised (recorded in the checkpoint; inference does the same).
        public var normalisation = IntensityNormalisation.foreground
        /// Probability that a patch comes from the skull-stripped subject (images × the study's
        /// `label-brain_mask`, normalised on their own), so the network sees both kinds users give:
        /// whole heads and BraTS-style stripped brains.
        public var strippedProbability = 0.0
        /// Probability that a whole-head patch shows its subject as an accelerated acquisition
        /// reconstructs it: one of the contrast's `degradedViews`, blended into the clean image by a
        /// random weight (reconstructions lie between zero-filled and clean). Segmenting
        /// reconstructions is what the k-space pipelines do.
        public var degradedProbability = 0.0
        /// Degraded versions of one contrast image (e.g. `SimulatedUndersampling.zeroFilled` at a few
        /// masks), made once per subject; given by the caller, who owns the acquisition model.
        public var degradedViews: (@Sendable (Volume) throws -> [Volume])?
        public init() {}
    }

    public var options: Options
    public init(options: Options) { self.options = options }

    struct Case {
        var id: String; var images: [[Float]]; var labels: [Float]; var shape: [Int]; var foreground: [Int]; var volumes: [Volume]
        /// The same images skull-stripped (when the recipe asks for them).
        var stripped: [[Float]] = []
        /// Degraded views, [view][contrast], normalised like the images (when the recipe asks for them).
        var degraded: [[[Float]]] = []

        /// What the network is shown of this subject: the whole head, and the stripped brain and the
        /// degraded views when the recipe uses them (a reconstruction like those trained on is not
        /// unlike the training data).
        var profiles: [IntensityProfile] {
            [IntensityProfile(normalised: images)] + (stripped.isEmpty ? [] : [IntensityProfile(normalised: stripped)])
                + degraded.map { IntensityProfile(normalised: $0) }
        }
    }

    func load(study: String, subject: String) throws -> Case {
        var images: [[Float]] = [], vols: [Volume] = [], stripped: [[Float]] = [], degraded: [[[Float]]] = []
        let brain = options.strippedProbability > 0 ? try VolumeFile.read("\(study)/\(subject)/anat/\(subject)_label-brain_mask.nii.gz").data : nil
        for c in options.contrasts {
            let v = try VolumeFile.read("\(study)/\(subject)/anat/\(subject)_\(c).nii.gz")
            vols.append(v)
            images.append(options.normalisation(v.data))
            if let brain {
                guard brain.count == v.data.count else { throw GantryError.invalidArgument("\(subject): brain mask and \(c) differ in size") }
                stripped.append(options.normalisation(zip(v.data, brain).map { $1 > 0 ? $0 : 0 }))
            }
            if options.degradedProbability > 0, let views = options.degradedViews {
                let made = try views(v)
                if degraded.isEmpty { degraded = Array(repeating: [], count: made.count) }
                guard made.count == degraded.count, made.allSatisfy({ $0.count == v.count }) else {
                    throw GantryError.invalidArgument("\(subject): degraded views of \(c) differ in number or size")
                }
                for (n, d) in made.enumerated() { degraded[n].append(options.normalisation(d.data)) }
            }
        }
        let lab = try VolumeFile.read("\(study)/\(subject)/anat/\(subject)_\(options.labelSuffix).nii.gz")
        let map = Dictionary(uniqueKeysWithValues: options.labels.enumerated().map { ($0.element, $0.offset) })
        let classes = lab.data.map { Float(map[Int($0.rounded())] ?? 0) }
        let fg = classes.enumerated().filter { $0.element > 0 }.map(\.offset)
        return Case(id: subject, images: images, labels: classes, shape: lab.spatialShape, foreground: fg, volumes: vols, stripped: stripped,
                    degraded: degraded)
    }

    /// The training subjects' intensity range, measured as `train` measures it (all subjects but the
    /// last `validationSubjects`), written into an existing checkpoint's metadata, tensors untouched
    /// (for checkpoints trained before the trainer recorded it).
    public func recordIntensityRange(study: String, checkpoint: String) throws -> IntensityRange {
        let subjects = try FileManager.default.contentsOfDirectory(atPath: study).filter { $0.hasPrefix("sub-") }.sorted()
        guard subjects.count > options.validationSubjects else { throw GantryError.invalidArgument("need more subjects than validation subjects (\(subjects.count))") }
        var (tensors, meta) = try SafeTensors.readWithMetadata(checkpoint)
        // measured as the checkpoint normalises
        var trainer = self
        trainer.options.normalisation = IntensityNormalisation(rawValue: meta["normalisation"] ?? "") ?? .nonZero
        let training = subjects.dropLast(options.validationSubjects)
        let range = try IntensityRange(covering: try training.flatMap { try trainer.load(study: study, subject: $0).profiles }, subjects: training.count)
        meta["intensity_range"] = try range.metadataValue
        try SafeTensors.write(tensors, to: checkpoint, metadata: meta)
        return range
    }

    /// Trains and writes the checkpoint to `output` after each epoch; returns validation Dice per epoch.
    @discardableResult
    public func train(study: String, output: String, resume: Bool = false, progress: (String) -> Void = { _ in }) throws -> [Double] {
        let subjects = try FileManager.default.contentsOfDirectory(atPath: study).filter { $0.hasPrefix("sub-") }.sorted()
        guard subjects.count > options.validationSubjects else { throw GantryError.invalidArgument("need more subjects than validation subjects (\(subjects.count))") }
        let valIDs = Array(subjects.suffix(options.validationSubjects)), trainIDs = Array(subjects.dropLast(options.validationSubjects))
        let train = try trainIDs.map { try load(study: study, subject: $0) }, val = try valIDs.map { try load(study: study, subject: $0) }
        let k = options.labels.count
        let net = try options.architecture.make(config: ["in_channels": options.contrasts.count, "out_channels": k, "channels": options.channels,
                                                         "strides": Array(repeating: 2, count: options.channels.count - 1), "num_res_units": 2], seed: options.seed)
        // The voxel size trained at travels with the checkpoint, so inference can match it.
        var model = SegmentationModel(network: net, contrasts: options.contrasts, labels: options.labels, roi: [options.patch, options.patch, options.patch],
                                      spacing: train.first?.volumes.first?.spacing,
                                      intensityRange: try IntensityRange(covering: train.flatMap(\.profiles), subjects: train.count),
                                      normalisation: options.normalisation)
        var startEpoch = 0, best = -Double.infinity
        let last = TrainingCheckpoint.lastPath(output)
        if resume, FileManager.default.fileExists(atPath: last) {
            let (tensors, meta) = try SafeTensors.readWithMetadata(last)
            try net.parameters.load(tensors, path: last)
            startEpoch = Int(meta["epoch"] ?? "0") ?? 0
            best = Double(meta["best_validation_dice_wt"] ?? "") ?? best
            progress("resuming after epoch \(startEpoch)")
        }
        let total = options.epochs * options.stepsPerEpoch
        let opt = Optimizer(net.parameters.all, kind: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupledWeightDecay: false),
                            learningRate: options.learningRate, schedule: .poly(power: 0.9, total: total))
        var history: [Double] = []
        let t0 = Date()
        for epoch in startEpoch..<options.epochs {
            var rng = SeededRandom(seed: options.seed, stream: UInt64(epoch))
            var lossSum: Float = 0
            for step in 0..<options.stepsPerEpoch {
                let (x, y) = sample(train[Int(rng.next() % UInt64(train.count))], rng: &rng)
                opt.zeroGrad()
                let logits = try net.forward(x, training: true)
                let loss = try logits.crossEntropy(labels: y) + logits.softDiceLoss(labels: y, includeBackground: false)
                loss.backward()
                opt.clipGradients(maxNorm: 12)
                opt.update()
                lossSum += loss.data[0]
                if step % 10 == 9 { progress(String(format: "epoch %d step %d/%d loss %.3f", epoch + 1, step + 1, options.stepsPerEpoch, lossSum / Float(step + 1))) }
            }
            let dice = try validate(model, val)
            history.append(dice)
            let elapsed = Date().timeIntervalSince(t0)
            let eta = elapsed / Double(epoch - startEpoch + 1) * Double(options.epochs - epoch - 1)
            model.network = net
            // The best epoch (validation whole-tumour Dice) is the checkpoint; the latest, with its
            // epoch, is what --resume continues from.
            var meta = ["epoch": String(epoch + 1), "validation_dice_wt": String(format: "%.4f", dice)]
            let improved = dice > best
            if improved {
                best = dice
                try model.save(output, extraMetadata: meta)
            }
            meta["best_validation_dice_wt"] = String(best)
            try model.save(last, extraMetadata: meta)
            progress(String(format: "epoch %d/%d: loss %.3f, validation Dice (whole tumour) %.3f%@, ETA %.0f s", epoch + 1, options.epochs,
                            lossSum / Float(options.stepsPerEpoch), dice, improved ? " (best)" : "", eta))
        }
        return history
    }

    /// A random patch (a third centred on foreground), flipped and intensity-augmented.
    func sample(_ c: Case, rng: inout SeededRandom) -> (Tensor, Tensor) {
        let p = options.patch, s = c.shape
        var centre: [Int]
        if !c.foreground.isEmpty && rng.uniform() < 0.33 {
            let o = c.foreground[Int(rng.next() % UInt64(c.foreground.count))]
            centre = [o % s[0], (o / s[0]) % s[1], o / (s[0] * s[1])]
        } else {
            centre = (0..<3).map { Int(rng.next() % UInt64(s[$0])) }
        }
        let start = (0..<3).map { max(0, min(s[$0] - p, centre[$0] - p / 2)) }
        let flip = (0..<3).map { _ in rng.uniform() < 0.5 }
        let nc = c.images.count
        var x = [Float](repeating: 0, count: nc * p * p * p), y = [Float](repeating: 0, count: p * p * p)
        // the whole head, the stripped brain or the head blended with a degraded view (blended voxel
        // by voxel inside the patch only), and which channel every channel shows (itself, or one
        // contrast for all); no draw for what the recipe leaves out, so other recipes sample as before
        var images = c.images, blend: (view: [[Float]], weight: Float)?
        if options.strippedProbability > 0, rng.uniform() < options.strippedProbability {
            images = c.stripped
        } else if options.degradedProbability > 0, !c.degraded.isEmpty, rng.uniform() < options.degradedProbability {
            blend = (c.degraded[Int(rng.next() % UInt64(c.degraded.count))], Float(rng.uniform(0.3, 1)))
        }
        var source = Array(0..<nc)
        if options.singleContrastProbability > 0, rng.uniform() < options.singleContrastProbability {
            source = Array(repeating: Int(rng.next() % UInt64(nc)), count: nc)
        }
        let scales = (0..<nc).map { _ in Float(rng.uniform(0.9, 1.1)) }, shifts = (0..<nc).map { _ in Float(rng.uniform(-0.1, 0.1)) }
        let noiseSeed = rng.next()
        var noise = SeededRandom(seed: noiseSeed)
        for k in 0..<p { for j in 0..<p { for i in 0..<p {
            let (si, sj, sk) = (start[0] + (flip[0] ? p - 1 - i : i), start[1] + (flip[1] ? p - 1 - j : j), start[2] + (flip[2] ? p - 1 - k : k))
            let inside = si < s[0] && sj < s[1] && sk < s[2]
            let src = si + s[0] * (sj + s[1] * sk)
            let dst = (k * p + j) * p + i
            y[dst] = inside ? c.labels[src] : 0
            for ch in 0..<nc {
                var v = inside ? images[source[ch]][src] : 0
                if inside, let (view, weight) = blend { v += weight * (view[source[ch]][src] - v) }
                x[ch * p * p * p + dst] = v * scales[ch] + shifts[ch] + Float(0.05 * noise.normal())
            }
        } } }
        return (Tensor(shape: [1, nc, p, p, p], data: x), Tensor(shape: [1, 1, p, p, p], data: y))
    }

    func validate(_ model: SegmentationModel, _ cases: [Case]) throws -> Double {
        var dices: [Double] = []
        for c in cases {
            let pred = try model.segment(c.volumes)
            let map = Dictionary(uniqueKeysWithValues: options.labels.enumerated().map { ($0.element, $0.offset) })
            var tp = 0.0, fp = 0.0, fn = 0.0
            for i in 0..<c.labels.count {
                let pw = (map[Int(pred.data[i].rounded())] ?? 0) > 0, rw = c.labels[i] > 0
                if pw && rw { tp += 1 } else if pw { fp += 1 } else if rw { fn += 1 }
            }
            dices.append(tp + fp + fn == 0 ? 1 : 2 * tp / (2 * tp + fp + fn))
        }
        return dices.reduce(0, +) / Double(max(1, dices.count))
    }
}
