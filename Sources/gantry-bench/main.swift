// gantry-bench: timing harness for `make bench`. Prints one JSON object per benchmark on stdout:
// {"name": ..., "median_s": ..., "runs": [...], ...}. The peers' scripts print the same shape and
// scripts/bench/report.py joins them into BENCHMARKS.md.
import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryPhantoms
import GantryRecon
import GantryNN
import GantrySegmentation

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func time(_ name: String, tool: String = "gantry", repeats: Int, extra: [String: Any] = [:], _ body: () throws -> Void) rethrows {
    var runs: [Double] = [], cpu: [Double] = []
    for _ in 0..<repeats {
        let (t0, c0) = (now(), cpuSeconds())
        try body()
        runs.append(now() - t0)
        cpu.append(cpuSeconds() - c0)
    }
    let sorted = runs.sorted()
    // CPU seconds (both threads) as well as wall time: on this shared VM the wall time of one
    // command drifts by 30–100 % within minutes, CPU time (stolen time excluded) much less — A/B
    // comparisons of kernels read `cpu_s`.
    var obj: [String: Any] = ["name": name, "tool": tool, "median_s": sorted[sorted.count / 2], "runs": runs, "threads": Parallel.threads,
                              "cpu_s": cpu.sorted()[cpu.count / 2]]
    for (k, v) in extra { obj[k] = v }
    let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

/// User + system CPU time of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Deterministic test volume: Shepp–Logan with quantised noise (compresses like a real scan, roughly).
func testVolume(shape: [Int]) throws -> Volume {
    var v = try SheppLogan.volume(shape: shape, spacing: 1)
    var s: UInt64 = 42
    for i in 0..<v.data.count {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(s >> 40) / Float(1 << 24) - 0.5
        v.data[i] = ((v.data[i] + 0.02 * u) * 1000).rounded() / 1000
    }
    return v
}

let args = CommandLine.arguments
if let s = ProcessInfo.processInfo.environment["GANTRY_NUM_THREADS"], let n = Int(s), n > 0 { Parallel.setDefaultThreads(n) }
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: gantry-bench make-inputs|nifti|fft|pics DIR [REPEATS]\n".data(using: .utf8)!)
    exit(64)
}
let dir = args[2]
// GANTRY_WINOGRAD=0, GANTRY_DIRECT=0, GANTRY_ROW_PAIRS=0, GANTRY_CHANNEL_VECTORS=0 leave those
// convolution kernels out (A/B comparisons); the library itself reads no environment.
let env = ProcessInfo.processInfo.environment
let kernels = ConvolutionKernels(winograd: env["GANTRY_WINOGRAD"] != "0", direct: env["GANTRY_DIRECT"] != "0",
                                 rowPairs: env["GANTRY_ROW_PAIRS"] != "0", channelVectors: env["GANTRY_CHANNEL_VECTORS"] != "0")
ConvolutionKernels.with(kernels) {
do {
    switch args[1] {
    case "make-inputs":
        // Raw inputs for every tool; each tool's reading benchmark uses the nibabel-written copies.
        let big = try testVolume(shape: [256, 256, 256])
        try NIfTI.write(big, to: dir + "/vol256_f32_gantry.nii")
        var brats = try testVolume(shape: [240, 240, 155])
        brats.data = brats.data.map { ($0 * 1000).rounded() }
        try NIfTI.write(brats, to: dir + "/brats_i16_gantry.nii", options: .init(datatype: .int16))
    case "nifti":
        let reps = Int(args.count > 3 ? args[3] : "5") ?? 5
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (label, stem) in [("256³ float32", "vol256_f32"), ("240×240×155 int16", "brats_i16")] {
            for ext in ["nii", "nii.gz"] where filter.map({ "\(label) .\(ext)".hasSuffix($0) }) ?? true {
                let peerFile = "\(dir)/\(stem)_nibabel.\(ext)"
                var sink: Float = 0
                try time("nifti read \(label) .\(ext)", repeats: reps, extra: ["file": "nibabel-written"]) {
                    let v = try NIfTI.read(peerFile)
                    sink += v.data[v.count / 2]
                }
                let v = try NIfTI.read(peerFile)
                let out = "\(dir)/\(stem)_gantry_out.\(ext)"
                let type: NIfTIDataType = stem.contains("i16") ? .int16 : .float32
                try time("nifti write \(label) .\(ext)", repeats: reps, extra: ["gzip_level": 1]) {
                    try NIfTI.write(v, to: out, options: .init(datatype: type, gzipLevel: 1))
                }
                if ext == "nii.gz" {
                    try time("nifti read \(label) .\(ext) (Gantry-written)", repeats: reps, extra: ["file": "gantry-written"]) {
                        let v = try NIfTI.read(out)
                        sink += v.data[v.count / 2]
                    }
                    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
                    print("{\"name\": \"nifti size \(label) .nii.gz\", \"tool\": \"gantry\", \"bytes\": \(size)}")
                }
                if sink.isNaN { print("") }
            }
        }
    case "fft":
        let reps = Int(args.count > 3 ? args[3] : "5") ?? 5
        for (label, shape, batch) in [("2D 15×320×320", [320, 320], 15), ("3D 256³", [256, 256, 256], 1)] {
            let plan = try FFTPlan.plan(shape: shape, batch: batch)
            var x = [Float](repeating: 0, count: 2 * shape.reduce(1, *) * batch)
            var s: UInt64 = 1
            for i in 0..<x.count { s = s &* 6364136223846793005 &+ 1442695040888963407; x[i] = Float(Int64(bitPattern: s) >> 40) / Float(1 << 23) }
            try plan.forward(&x)  // warm up
            try time("fft \(label) centred ortho", repeats: reps, extra: ["variant": "Gantry FFTPlan.forward (shifts + scaling + copies)"]) { try plan.forward(&x) }
            time("fft \(label) centred ortho", tool: "FFTW (bare execute)", repeats: reps) { plan.rawExecute() }
        }
    case "pics":
        // CS-L1 (50 iterations, λ 0.01) on BART-made 8-coil slices with BART ESPIRiT maps.
        for size in [256, 320] {
            let base = "\(dir)/pics\(size)"
            let k = try BARTFile.read(base + "_us").data, maps = try BARTFile.read(base + "_maps").data
            let maskC = try BARTFile.read(base + "_mask").data
            let mask = (0..<(size * size)).map { maskC[2 * $0] }
            var result: [Float] = []
            try time("pics -l1 8-coil \(size)² 50 it", repeats: 3, extra: ["variant": "Gantry cs-l1, BART maps"]) {
                result = try Reconstructor.reconstructSlice(k, mask: mask, coils: 8, ny: size, nx: size,
                                                            options: ReconOptions(method: .csL1, lambda: 0.01, iterations: 50, mapsFromFile: true), fileMaps: maps)
            }
            try BARTFile.write(base + "_gantry", dims: [size, size], data: result.flatMap { [$0, 0] })
            let kc = try BARTFile.read(base + "_us").data
            try time("ecalib 8-coil \(size)²", repeats: 3, extra: ["variant": "Gantry ESPIRiT (24² calibration, 6² kernel)"]) {
                _ = try ESPIRiT.maps(kspace: kc, mask: mask, coils: 8, ny: size, nx: size)
            }
        }
    case "nn-memory":
        // One forward+backward of case `i` in a fresh process: peak resident memory (MB).
        let i = Int(args.count > 3 ? args[3] : "0") ?? 0
        guard NNBench.cases.indices.contains(i) else { exit(64) }
        let c = NNBench.cases[i]
        let x = Tensor(uniform: c.input, bound: 1, seed: 1, requiresGrad: true)
        let w = Tensor(uniform: c.weight, bound: 0.1, seed: 2, requiresGrad: true)
        let y = try c.run(x, w)
        (y * Tensor(uniform: y.shape, bound: 1, seed: 3, requiresGrad: false)).sum().backward()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("{\"name\": \"\(c.name) fwd+bwd peak RSS (MB)\", \"tool\": \"gantry\", \"score\": \(Double(usage.ru_maxrss) / 1024)}")
    case "peak":
        // The machine's FP32 peak as this binary reaches it: every core runs independent fused
        // multiply-adds on registers (no memory traffic), the ceiling for the tensor engine's
        // GFLOP/s (`make bench` reports each convolution's share of it).
        let reps = Int(args.count > 3 ? args[3] : "5") ?? 5, steps = 20_000_000
        var sink = [Float](repeating: 0, count: Parallel.threads)
        try time("peak FP32 FMA", repeats: reps, extra: ["gflop": Double(Parallel.threads * steps * 24 * 2 * FMAPeak.Lane.scalarCount) / 1e9, "peak": true]) {
            sink.withUnsafeMutableBufferPointer { sb in
                let out = sb.baseAddress!
                Parallel.forEach(Parallel.threads) { t in out[t] = FMAPeak.run(steps: steps, seed: Float(t)) }
            }
        }
        // read the sums, so the loops cannot be dropped (they converge to finite values)
        if !sink.reduce(0, +).isFinite { FileHandle.standardError.write("peak: non-finite sums\n".data(using: .utf8)!) }
    case "nn":
        let reps = Int(args.count > 3 ? args[3] : "3") ?? 3
        // GANTRY_BENCH_FILTER=substring runs only the matching rows (for profiling one shape).
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for c in NNBench.cases where filter.map({ c.name.contains($0) }) ?? true {
            let x = Tensor(uniform: c.input, bound: 1, seed: 1, requiresGrad: true)
            let w = Tensor(uniform: c.weight, bound: 0.1, seed: 2, requiresGrad: true)
            var y = try c.run(x, w)
            try time("\(c.name) forward", repeats: reps, extra: ["gflop": c.gflop]) { y = try Tensor.noGrad { try c.run(x, w) } }
            y = try c.run(x, w)
            let r = Tensor(uniform: y.shape, bound: 1, seed: 3, requiresGrad: false)
            try time("\(c.name) forward+backward", repeats: reps, extra: ["gflop": 3 * c.gflop]) {
                x.zeroGrad(); w.zeroGrad()
                let out = try c.run(x, w)
                (out * r).sum().backward()
            }
        }
    case "layers":
        // The convolutions of UNet 8-16-32-64 at 1×4×128³ (MONAI layout, 2 residual units), one row
        // each with its GFLOP/s: where the segmentation benchmark's time goes, layer by layer.
        let reps = Int(args.count > 3 ? args[3] : "5") ?? 5
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        // GANTRY_LAYER="cin,cout,d,h,w[,stride]": one 3×3×3 layer of that shape instead (kernel experiments)
        let custom = ProcessInfo.processInfo.environment["GANTRY_LAYER"].map { $0.split(separator: ",").compactMap { Int($0) } }
        if let c = custom, c.count == 5 || c.count == 6 {
            let x = Tensor(uniform: [1, c[0], c[2], c[3], c[4]], bound: 1, seed: 1), w = Tensor(uniform: [c[1], c[0], 3, 3, 3], bound: 0.1, seed: 2)
            let s = c.count == 6 ? c[5] : 1, outVoxels = ((c[2] - 1) / s + 1) * ((c[3] - 1) / s + 1) * ((c[4] - 1) / s + 1)
            try time("layer conv \(c)", repeats: reps, extra: ["gflop": 2 * Double(c[0] * c[1] * 27 * outVoxels) / 1e9]) {
                _ = try Tensor.noGrad { try x.conv(w, .uniform(stride: s, padding: 1)) }
            }
        }
        for l in NNBench.unetLayers where custom == nil {
            let x = Tensor(uniform: [1, l.cin, l.size, l.size, l.size], bound: 1, seed: 1)
            let w = Tensor(uniform: l.transposed ? [l.cin, l.cout, 3, 3, 3] : [l.cout, l.cin, 3, 3, 3], bound: 0.1, seed: 2)
            let out = l.transposed ? 2 * l.size : l.size / l.stride
            let macs = l.transposed ? Double(l.cin * l.cout * 27 * l.size * l.size * l.size) : Double(l.cin * l.cout * 27 * out * out * out)
            let name = "layer \(l.transposed ? "convT" : "conv") \(l.cin)→\(l.cout) \(l.size)³ s\(l.stride)"
            if let f = filter, !name.contains(f) { continue }
            try time(name, repeats: reps, extra: ["gflop": 2 * macs / 1e9]) {
                _ = try Tensor.noGrad {
                    l.transposed ? try x.convTranspose(w, .uniform(stride: 2, padding: 1), outputPadding: [1, 1, 1]) : try x.conv(w, .uniform(stride: l.stride, padding: 1))
                }
            }
        }
    case "segnet":
        // Whole segmentation networks (MONAI runs the same in scripts/bench/peers_segnet.py): inference
        // on a 64³ four-contrast block and one training step (forward + backward) on a 48³ patch.
        let reps = Int(args.count > 3 ? args[3] : "3") ?? 3
        let nets: [(String, any SegmentationNetwork)] = [
            ("UNet", try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2], numResUnits: 2), seed: 1)),
            ("AttentionUnet", try AttentionUNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2]), seed: 1)),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, net) in nets where filter.map({ name.contains($0) }) ?? true {
            let x = Tensor(uniform: [1, 4, 64, 64, 64], bound: 1, seed: 1)
            _ = try Tensor.noGrad { try net.forward(x, training: false) }
            try time("segnet \(name) 8-16-32-64 1×4×64³ inference", repeats: reps) { _ = try Tensor.noGrad { try net.forward(x, training: false) } }
            let big = Tensor(uniform: [1, 4, 128, 128, 128], bound: 1, seed: 4)
            try time("segnet \(name) 8-16-32-64 1×4×128³ inference", repeats: reps) { _ = try Tensor.noGrad { try net.forward(big, training: false) } }
            let patch = Tensor(uniform: [1, 4, 48, 48, 48], bound: 1, seed: 2)
            let r = Tensor(uniform: [1, 4, 48, 48, 48], bound: 1, seed: 3)
            try time("segnet \(name) 8-16-32-64 1×4×48³ training step", repeats: reps) {
                for p in net.parameters.all { p.zeroGrad() }
                (try net.forward(patch, training: true) * r).sum().backward()
            }
        }
    case "segnet-full":
        // A whole BraTS-sized case in a fresh process: 4 contrasts of 240×240×155, sliding window
        // (48³ windows, overlap 0.5, Gaussian weighting) with UNet 8-16-32-64 and softmax: time and
        // peak resident memory (MONAI's sliding_window_inference runs the same in peers_segnet.py).
        let net = try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2], numResUnits: 2), seed: 1)
        let x = Tensor(uniform: [1, 4, 155, 240, 240], bound: 1, seed: 5)
        try time("segnet UNet 8-16-32-64 sliding window 4×240×240×155 (48³, overlap 0.5)", repeats: 1) {
            _ = try Tensor.noGrad { try SlidingWindow(roi: [48, 48, 48], overlap: 0.5).run(x, classes: 4) { try net.forward($0, training: false).softmaxChannels() } }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("{\"name\": \"segnet UNet sliding window 4×240×240×155 peak RSS (MB)\", \"tool\": \"gantry\", \"score\": \(Double(usage.ru_maxrss) / 1024)}")
    case "segnet-memory":
        // One training step (forward + backward) in a fresh process: time and peak resident memory
        // of the reversible MB U-Net against the same weights keeping every activation, and MONAI's
        // residual U-Net layout, on a 4-contrast patch of the given size.
        let i = Int(args.count > 3 ? args[3] : "0") ?? 0, size = Int(args.count > 4 ? args[4] : "64") ?? 64
        let rev = try RevMBUNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], blocks: 2, expansion: 4), seed: 1)
        let cases: [(String, any SegmentationNetwork, Bool)] = [
            ("RevMBUNet3D 16-32-64-128 reversible", rev, true),
            ("RevMBUNet3D 16-32-64-128 activations kept", rev, false),
            ("UNet 16-32-64-128", try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], numResUnits: 2), seed: 1), false),
        ]
        guard cases.indices.contains(i) else { exit(64) }
        let (name, net, reversible) = cases[i]
        (net as? RevMBUNet3D)?.reversible = reversible
        let patch = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 2)
        let r = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 3)
        try time("segnet \(name) 1×4×\(size)³ training step", repeats: 1) { (try net.forward(patch, training: true) * r).sum().backward() }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("{\"name\": \"segnet \(name) 1×4×\(size)³ training step peak RSS (MB)\", \"tool\": \"gantry\", \"score\": \(Double(usage.ru_maxrss) / 1024)}")
    case "rim":
        // One 8-coil 320² slice through the RIM/CIRIM shapes atommic was timed on (issue #7; the
        // unmodified atommic RIMBlock runs the same in scripts/bench/peers_rim.py). Weights are
        // random: speed does not depend on them.
        let reps = Int(args.count > 3 ? args[3] : "3") ?? 3
        let batch = try LearnedAcquisition.batch([try RIMBench.slice().acquisition])
        let cases: [(String, RIMConfiguration, Int)] = [
            ("RIM IndRNN-64 8 steps", .make(cell: .indRNN, hidden: 64, timeSteps: 8, cascades: 1), reps),
            ("RIM GRU-64 8 steps", .make(cell: .gru, hidden: 64, timeSteps: 8, cascades: 1), reps),
            ("CIRIM IndRNN-128 5×8 steps", .make(cell: .indRNN, hidden: 128, timeSteps: 8, cascades: 5), 1),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, cfg, r) in cases where filter.map({ name.contains($0) }) ?? true {
            let net = try CIRIM(config: cfg, seed: 1)
            try time("\(name) 8-coil 320² inference", repeats: r) { _ = try net.reconstruct(batch) }
        }
    case "rim-train":
        // One training step (forward of all steps, atommic's loss, backward) of RIM case `i` in a
        // fresh process: time and peak resident memory.
        let i = Int(args.count > 3 ? args[3] : "0") ?? 0
        let cases: [(String, RIMConfiguration)] = [("RIM IndRNN-64 8 steps", .make(cell: .indRNN, hidden: 64, timeSteps: 8, cascades: 1)),
                                                   ("RIM GRU-64 8 steps", .make(cell: .gru, hidden: 64, timeSteps: 8, cascades: 1))]
        guard cases.indices.contains(i) else { exit(64) }
        let (acq, target) = try RIMBench.slice()
        let net = try CIRIM(config: cases[i].1, seed: 1)
        net.recomputeSteps = true // as `gantry train recon` trains
        try time("\(cases[i].0) 8-coil 320² training step", repeats: 1) {
            try RIMLoss()(net.forward(try LearnedAcquisition.batch([acq])), target: target).backward()
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("{\"name\": \"\(cases[i].0) 8-coil 320² training step peak RSS (MB)\", \"tool\": \"gantry\", \"score\": \(Double(usage.ru_maxrss) / 1024)}")
    case "recon-quality":
        // The learned-vs-classical table: every test file of scripts/train_recon.sh (held-out subjects,
        // FLAIR never seen in training) at 4× and 8× with equispaced masks (a kind never used in
        // training), each method scored against the file's fully sampled reconstruction_rss.
        let testDir = args.count > 3 ? args[3] : ".build-data/recon/test"
        let files = try FileManager.default.contentsOfDirectory(atPath: testDir).sorted().map { "\(testDir)/\($0)/kspace.h5" }
        var methods: [(String, ReconMethod, ReconModel?)] = [("zero-filled", .zeroFilled, nil), ("CS-L1", .csL1, nil)]
        for (label, path, m) in [("RIM GRU", "models/rim-gru.safetensors", ReconMethod.rim), ("RIM IndRNN", "models/rim-indrnn.safetensors", .rim),
                                 ("CIRIM GRU", "models/cirim-gru.safetensors", .cirim), ("CIRIM IndRNN", "models/cirim-indrnn.safetensors", .cirim)]
        where FileManager.default.fileExists(atPath: path) {
            methods.append((label, m, try ReconModel.load(path)))
        }
        for (accel, centre) in [(4.0, 0.08), (8.0, 0.04)] {
            for (label, method, model) in methods {
                var nmse = 0.0, psnr = 0.0, ssim = 0.0, seconds = 0.0, slices = 0, flairSSIM = 0.0, flairSlices = 0
                for path in files {
                    let file = try KSpaceFile.read(path)
                    guard let ref = file.reconstructionRSS else { continue }
                    var o = ReconOptions(method: method, mask: SamplingMask(kind: .equispaced, acceleration: accel, centerFraction: centre, seed: 0), maps: .file)
                    o.model = model
                    o.batchSize = 1
                    let t0 = now()
                    let r = try Reconstructor.run(file, options: o)
                    seconds += now() - t0
                    let plane = r.ny * r.nx
                    for s in 0..<r.slices {
                        let x = Array(r.images[(s * plane)..<((s + 1) * plane)]), y = Array(ref.data[(s * plane)..<((s + 1) * plane)])
                        let range = Double(y.max() ?? 1)
                        nmse += ImageMetrics.nmse(x, reference: y); psnr += ImageMetrics.psnr(x, reference: y, dataRange: range)
                        let v = try ImageMetrics.ssim(x, reference: y, slices: 1, ny: r.ny, nx: r.nx, dataRange: range)
                        ssim += v
                        if file.acquisition == "AXFLAIR" { flairSSIM += v; flairSlices += 1 }
                    }
                    slices += r.slices
                }
                let k = Double(max(slices, 1))
                let obj: [String: Any] = ["name": "recon quality \(Int(accel))× \(label)", "tool": "gantry", "acceleration": accel, "method": label,
                                          "nmse": nmse / k, "psnr": psnr / k, "ssim": ssim / k, "ssim_flair": flairSSIM / Double(max(flairSlices, 1)),
                                          "seconds_per_slice": seconds / k, "slices": slices, "median_s": seconds / k]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
                fflush(nil)
            }
        }
    default:
        FileHandle.standardError.write("unknown benchmark \(args[1])\n".data(using: .utf8)!)
        exit(64)
    }
} catch {
    FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
}

/// The RIM benchmarks' input: a Shepp–Logan 320² slice seen by 8 coils, 4× equispaced.
enum RIMBench {
    static func slice() throws -> (acquisition: LearnedAcquisition, target: Tensor) {
        let n = 320
        let v = try SheppLogan.volume(shape: [n, n, 3], spacing: 1)
        let file = try CoilSimulation(coils: 8, seed: 1).simulate(v, slices: [1], acquisition: "SL")
        return try ReconSample.slices(of: file)[0].undersampled(try SamplingMask(kind: .equispaced, acceleration: 4, centerFraction: 0.08, seed: 0).make(ny: n, nx: n))
    }
}

/// The conv shapes of issue #3's benchmark rows (PyTorch runs the same in scripts/bench/peers_nn.py).
enum NNBench {
    struct Case: Sendable { let name: String; let input: [Int]; let weight: [Int]; let gflop: Double; let run: @Sendable (Tensor, Tensor) throws -> Tensor }
    /// UNet 8-16-32-64's 3×3×3 convolutions at a 128³ input (transposed: k3, stride 2, output padding 1, as MONAI's up path).
    static let unetLayers: [(cin: Int, cout: Int, size: Int, stride: Int, transposed: Bool)] = [
        (4, 8, 128, 2, false), (8, 8, 64, 1, false), (8, 16, 64, 2, false), (16, 16, 32, 1, false), (16, 32, 32, 2, false), (32, 32, 16, 1, false),
        (32, 64, 16, 1, false), (64, 64, 16, 1, false), (96, 16, 16, 2, true), (32, 8, 32, 2, true), (16, 4, 64, 2, true), (4, 4, 128, 1, false),
    ]
    static let cases: [Case] = [
        Case(name: "conv3d 1×32×64³→32 k3", input: [1, 32, 64, 64, 64], weight: [32, 32, 3, 3, 3], gflop: 2 * 32 * 32 * 27 * 262144 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1)) },
        Case(name: "conv3d 1×16×128³→16 k3", input: [1, 16, 128, 128, 128], weight: [16, 16, 3, 3, 3], gflop: 2 * 16 * 16 * 27 * 2097152 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1)) },
        Case(name: "depthwise conv3d 3³ 1×64×64³", input: [1, 64, 64, 64, 64], weight: [64, 1, 3, 3, 3], gflop: 2 * 64 * 27 * 262144 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1, groups: 64)) },
        Case(name: "conv-transpose3d 2× 1×32×32³→16", input: [1, 32, 32, 32, 32], weight: [32, 16, 2, 2, 2], gflop: 2 * 32 * 16 * 8 * 32768 / 1e9) { x, w in try x.convTranspose(w, .uniform(stride: 2)) },
        Case(name: "conv2d 1×64×320²→64 k3", input: [1, 64, 320, 320], weight: [64, 64, 3, 3], gflop: 2 * 64 * 64 * 9 * 102400 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1, dims: 2)) },
        // CIRIM's dominant layer (75 % of its FLOPs): 3×3, dilation 2, 128 → 128 channels.
        Case(name: "conv2d 1×128×320²→128 k3 d2", input: [1, 128, 320, 320], weight: [128, 128, 3, 3], gflop: 2 * 128 * 128 * 9 * 102400 / 1e9) { x, w in try x.conv(w, .uniform(padding: 2, dilation: 2, dims: 2)) },
    ]
}

/// 24 independent chains a ← a·m + c (enough to cover the FMA latency on two pipes) in one flat loop.
enum FMAPeak {
    typealias Lane = SIMD16<Float>
    static func run(steps: Int, seed: Float) -> Float {
        let m = Lane(repeating: 0.999_999), c = Lane(repeating: 1e-7)
        var a0 = Lane(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7
        var a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11, a12 = a0 + 12, a13 = a0 + 13, a14 = a0 + 14, a15 = a0 + 15
        var a16 = a0 + 16, a17 = a0 + 17, a18 = a0 + 18, a19 = a0 + 19, a20 = a0 + 20, a21 = a0 + 21, a22 = a0 + 22, a23 = a0 + 23
        for _ in 0..<steps {
            a0 = c.addingProduct(a0, m); a1 = c.addingProduct(a1, m); a2 = c.addingProduct(a2, m); a3 = c.addingProduct(a3, m)
            a4 = c.addingProduct(a4, m); a5 = c.addingProduct(a5, m); a6 = c.addingProduct(a6, m); a7 = c.addingProduct(a7, m)
            a8 = c.addingProduct(a8, m); a9 = c.addingProduct(a9, m); a10 = c.addingProduct(a10, m); a11 = c.addingProduct(a11, m)
            a12 = c.addingProduct(a12, m); a13 = c.addingProduct(a13, m); a14 = c.addingProduct(a14, m); a15 = c.addingProduct(a15, m)
            a16 = c.addingProduct(a16, m); a17 = c.addingProduct(a17, m); a18 = c.addingProduct(a18, m); a19 = c.addingProduct(a19, m)
            a20 = c.addingProduct(a20, m); a21 = c.addingProduct(a21, m); a22 = c.addingProduct(a22, m); a23 = c.addingProduct(a23, m)
        }
        let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23
        return s.sum()
    }
}
