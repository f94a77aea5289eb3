import ArgumentParser
import Foundation
import GantryNN
import GantrySegmentation

struct SegNet: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "segnet", abstract: "Whole segmentation networks: inference and one training step.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 3

    func measure() throws {
        // Whole segmentation networks (MONAI runs the same in scripts/bench/peers_segnet.py): inference
        // on a 64³ four-contrast block and one training step (forward + backward) on a 48³ patch.
            let nets: [(String, any SegmentationNetwork)] = [
            ("UNet", try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2], numResUnits: 2), seed: 1)),
            ("AttentionUnet", try AttentionUNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2]), seed: 1)),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, net) in nets where filter.map({ name.contains($0) }) ?? true {
            let x = Tensor(uniform: [1, 4, 64, 64, 64], bound: 1, seed: 1)
            _ = try Tensor.noGrad { try net.forward(x, training: false) }
            try time("segnet \(name) 8-16-32-64 1×4×64³ inference", repeats: repeats) { _ = try Tensor.noGrad { try net.forward(x, training: false) } }
            let big = Tensor(uniform: [1, 4, 128, 128, 128], bound: 1, seed: 4)
            try time("segnet \(name) 8-16-32-64 1×4×128³ inference", repeats: repeats) { _ = try Tensor.noGrad { try net.forward(big, training: false) } }
            let patch = Tensor(uniform: [1, 4, 48, 48, 48], bound: 1, seed: 2)
            let r = Tensor(uniform: [1, 4, 48, 48, 48], bound: 1, seed: 3)
            try time("segnet \(name) 8-16-32-64 1×4×48³ training step", repeats: repeats) {
                for p in net.parameters.all { p.zeroGrad() }
                (try net.forward(patch, training: true) * r).sum().backward()
            }
        }
    }
}
