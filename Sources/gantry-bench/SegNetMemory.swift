import ArgumentParser
import GantryNN
import GantrySegmentation

struct SegNetMemory: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "segnet-memory", abstract: "One training step of a segmentation network in a fresh process: time and peak memory.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Which case (0, 1, …).") var index: Int = 0
    @Argument(help: "Patch side (voxels).") var size: Int = 64

    func measure() throws {
        // One training step (forward + backward) in a fresh process: time and peak resident memory
        // of the reversible MB U-Net against the same weights keeping every activation, and MONAI's
        // residual U-Net layout, on a 4-contrast patch of the given size.
        let i = index
        let rev = try RevMBUNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], blocks: 2, expansion: 4), seed: 1)
        let cases: [(String, any SegmentationNetwork, Bool)] = [
            ("RevMBUNet3D 16-32-64-128 reversible", rev, true),
            ("RevMBUNet3D 16-32-64-128 activations kept", rev, false),
            ("UNet 16-32-64-128", try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], numResUnits: 2), seed: 1), false),
        ]
        guard cases.indices.contains(i) else { throw ValidationError("no case \(index)") }
        let (name, net, reversible) = cases[i]
        (net as? RevMBUNet3D)?.reversible = reversible
        let patch = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 2)
        let r = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 3)
        try time("segnet \(name) 1×4×\(size)³ training step", repeats: 1) { (try net.forward(patch, training: true) * r).sum().backward() }
        reportPeakMemory("segnet \(name) 1×4×\(size)³ training step")
    }
}
