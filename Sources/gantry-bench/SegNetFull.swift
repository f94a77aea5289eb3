import ArgumentParser
import GantryNN
import GantrySegmentation

struct SegNetFull: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "segnet-full", abstract: "A whole BraTS-sized case by sliding window in a fresh process: time and peak memory.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String

    func measure() throws {
        // A whole BraTS-sized case in a fresh process: 4 contrasts of 240×240×155, sliding window
        // (48³ windows, overlap 0.5, Gaussian weighting) with UNet 8-16-32-64 and softmax: time and
        // peak resident memory (MONAI's sliding_window_inference runs the same in peers_segnet.py).
        let net = try UNet3D(.init(inChannels: 4, outChannels: 4, channels: [8, 16, 32, 64], strides: [2, 2, 2], numResUnits: 2), seed: 1)
        let x = Tensor(uniform: [1, 4, 155, 240, 240], bound: 1, seed: 5)
        try time("segnet UNet 8-16-32-64 sliding window 4×240×240×155 (48³, overlap 0.5)", repeats: 1) {
            _ = try Tensor.noGrad { try SlidingWindow(roi: [48, 48, 48], overlap: 0.5).run(x, classes: 4) { try net.forward($0, training: false).softmaxChannels() } }
        }
        reportPeakMemory("segnet UNet sliding window 4×240×240×155")
    }
}
