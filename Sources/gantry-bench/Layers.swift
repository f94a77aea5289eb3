import ArgumentParser
import Foundation
import GantryNN

struct Layers: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "layers", abstract: "UNet 8-16-32-64's convolutions at 128³, layer by layer.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 5

    func measure() throws {
        // The convolutions of UNet 8-16-32-64 at 1×4×128³ (MONAI layout, 2 residual units), one row
        // each with its GFLOP/s: where the segmentation benchmark's time goes, layer by layer.
            let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        // GANTRY_LAYER="cin,cout,d,h,w[,stride]": one 3×3×3 layer of that shape instead (kernel experiments)
        let custom = ProcessInfo.processInfo.environment["GANTRY_LAYER"].map { $0.split(separator: ",").compactMap { Int($0) } }
        if let c = custom, c.count == 5 || c.count == 6 {
            let x = Tensor(uniform: [1, c[0], c[2], c[3], c[4]], bound: 1, seed: 1), w = Tensor(uniform: [c[1], c[0], 3, 3, 3], bound: 0.1, seed: 2)
            let s = c.count == 6 ? c[5] : 1, outVoxels = ((c[2] - 1) / s + 1) * ((c[3] - 1) / s + 1) * ((c[4] - 1) / s + 1)
            try time("layer conv \(c)", repeats: repeats, extra: ["gflop": 2 * Double(c[0] * c[1] * 27 * outVoxels) / 1e9]) {
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
            try time(name, repeats: repeats, extra: ["gflop": 2 * macs / 1e9]) {
                _ = try Tensor.noGrad {
                    l.transposed ? try x.convTranspose(w, .uniform(stride: 2, padding: 1), outputPadding: [1, 1, 1]) : try x.conv(w, .uniform(stride: l.stride, padding: 1))
                }
            }
        }
    }
}
