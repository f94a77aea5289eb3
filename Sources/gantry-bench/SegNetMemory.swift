import ArgumentParser
import GantryNN
import GantrySegmentation

struct SegNetMemory: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "segnet-memory", abstract: "One training step of a segmentation network in a fresh process: time and peak memory.")
    @OptionGroup var run: FreshProcessCase
    @Argument(help: "Patch side (voxels).") var size: Int = 64

    func measure() throws {
        // One training step (forward + backward) in a fresh process: time and peak resident memory
        // of the reversible MB U-Net against the same weights keeping every activation, and MONAI's
        // residual U-Net layout, on a 4-contrast patch of the given size.
        let rev = try RevMBUNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], blocks: 2, expansion: 4), seed: 1)
        let cases: [(String, any SegmentationNetwork, Bool)] = [
            ("RevMBUNet3D 16-32-64-128 reversible", rev, true),
            ("RevMBUNet3D 16-32-64-128 activations kept", rev, false),
            ("UNet 16-32-64-128", try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [16, 32, 64, 128], strides: [2, 2, 2], numResUnits: 2), seed: 1), false),
        ]
        let (name, net, reversible) = try run.pick(cases)
        (net as? RevMBUNet3D)?.reversible = reversible
        let patch = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 2)
        let r = Tensor(uniform: [1, 4, size, size, size], bound: 1, seed: 3)
        try time("segnet \(name) 1×4×\(size)³ training step", repeats: 1) { (try net.forward(patch, training: true) * r).sum().backward() }
        reportPeakMemory("segnet \(name) 1×4×\(size)³ training step")
    }
}
