import ArgumentParser
import Foundation
import GantryIO
import GantryMetrics
import GantryRecon

struct ReconQuality: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "recon-quality", abstract: "The learned-vs-classical reconstruction quality table on held-out files.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Folder of held-out fastMRI-layout files.") var testDir: String = ".build-data/recon/test"

    func measure() throws {
        // The learned-vs-classical table: every test file of scripts/train_recon.sh (held-out subjects,
        // FLAIR never seen in training) at 4× and 8× with equispaced masks (a kind never used in
        // training), each method scored against the file's fully sampled reconstruction_rss.
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
                    guard let ref = try KSpaceFile.read(path).reconstructionRSS else { continue }
                    var o = ReconOptions(method: method, mask: SamplingMask(kind: .equispaced, acceleration: accel, centerFraction: centre, seed: 0), maps: .file)
                    o.model = model
                    o.batchSize = 1
                    let (report, r) = try ReconJob(input: path, options: o).run()
                    seconds += report.reconstructionSeconds ?? 0
                    let plane = r.ny * r.nx
                    for s in 0..<r.slices {
                        let x = Array(r.images[(s * plane)..<((s + 1) * plane)]), y = Array(ref.data[(s * plane)..<((s + 1) * plane)])
                        let range = Double(y.max() ?? 1)
                        nmse += ImageMetrics.nmse(x, reference: y); psnr += ImageMetrics.psnr(x, reference: y, dataRange: range)
                        let v = try ImageMetrics.ssim(x, reference: y, slices: 1, ny: r.ny, nx: r.nx, dataRange: range)
                        ssim += v
                        if report.acquisition == "AXFLAIR" { flairSSIM += v; flairSlices += 1 }
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
    }
}
