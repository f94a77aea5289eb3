import ArgumentParser
import Foundation
import GantryNN
import GantryRecon

/// Where a RIM time step's time goes: each of its operations alone on one 8-coil 320² slice,
/// forward without a graph (the shapes of `rim`'s IndRNN rows; `hidden` sets the channels).
struct RIMLayers: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "rim-layers", abstract: "A RIM time step's operations one by one on one 8-coil 320² slice.")
    @Argument(help: "Working folder (unused; every command takes one).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 5
    @Option(help: "Channels of the conv and recurrent layers.") var hidden: Int = 64

    func measure() throws {
        let batch = try LearnedAcquisition.batch([try RIMBench.slice().acquisition])
        let c = hidden, n = 320
        let x = try batch.senseCombination()
        let four = Tensor(uniform: [1, 4, n, n], bound: 1, seed: 1)
        let wide = Tensor(uniform: [1, c, n, n], bound: 1, seed: 2)
        let h = Tensor(uniform: [1, c, n, n], bound: 1, seed: 3)
        let w5 = Tensor(uniform: [c, 4, 5, 5], bound: 0.1, seed: 4), w1 = Tensor(uniform: [c, c, 1, 1], bound: 0.1, seed: 5)
        let w3 = Tensor(uniform: [c, c, 3, 3], bound: 0.1, seed: 6), wOut = Tensor(uniform: [2, c, 3, 3], bound: 0.1, seed: 7)
        let wBack = Tensor(uniform: [4, c, 5, 5], bound: 0.1, seed: 10)
        let bias = Tensor(uniform: [c], bound: 0.1, seed: 8), u = Tensor(uniform: [1, c, 1, 1], bound: 0.5, seed: 9)
        let store = ParameterStore(seed: 12)
        let indRNN = ConvRecurrentCell(kind: .indRNN, prefix: "i", inChannels: c, hidden: c, kernel: 1, dilation: 1, bias: true)
        let gru = ConvRecurrentCell(kind: .gru, prefix: "g", inChannels: c, hidden: c, kernel: 1, dilation: 1, bias: true)
        let rows: [(String, () throws -> Void)] = [
            ("data-term gradient (8 coils)", { _ = try x.logLikelihoodGradient(batch) }),
            ("replication pad 2 + conv 5×5 4→\(c) + ReLU", { _ = try four.replicationPaddedConv(w5, bias: bias, padding: 2, relu: true) }),
            ("conv 1×1 \(c)→\(c)", { _ = try wide.conv(w1, bias: bias, .uniform(dims: 2)) }),
            ("IndRNN cell (1×1 conv + update)", { _ = try indRNN(wide, h, store) }),
            ("GRU cell (two 1×1 convs to 3×\(c) + update)", { _ = try gru(wide, h, store) }),
            ("IndRNN update", { _ = try wide.indRNNUpdate(hidden: h, weight: u) }),
            ("replication pad 2 + conv 3×3 d2 \(c)→\(c) + ReLU", { _ = try wide.replicationPaddedConv(w3, bias: bias, padding: 2, dilation: 2, relu: true) }),
            ("replication pad 1 + conv 3×3 \(c)→2", { _ = try wide.replicationPaddedConv(wOut, padding: 1) }),
            // Backward only: the first layer's input gradient, a convolution of dY with the flipped kernel.
            ("first layer's input gradient, conv 5×5 \(c)→4", { _ = try wide.conv(wBack, .uniform(padding: 4, dims: 2)) }),
        ]
        // Recorded forward and backward (a training step replays every time step this way).
        let trainable = [four, wide, h, w5, w1, w3, wOut, bias, u].map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
        let (tFour, tWide, tH, tW5, tW1, tW3, tWOut, tBias, tU) = (trainable[0], trainable[1], trainable[2], trainable[3], trainable[4], trainable[5],
                                                                    trainable[6], trainable[7], trainable[8])
        func backward(_ y: Tensor) { (y * Tensor(uniform: y.shape, bound: 1, seed: 11, requiresGrad: false)).sum().backward() }
        let training: [(String, () throws -> Void)] = [
            ("ReLU alone (the harness's own cost)", { backward(tWide.relu()) }),
            ("conv 5×5 4→\(c) + ReLU", { backward(try tFour.replicationPaddedConv(tW5, bias: tBias, padding: 2, relu: true)) }),
            ("conv 1×1 \(c)→\(c) + IndRNN update", { backward(try tWide.conv(tW1, bias: tBias).indRNNUpdate(hidden: tH, weight: tU)) }),
            ("conv 3×3 d2 \(c)→\(c) + ReLU", { backward(try tWide.replicationPaddedConv(tW3, bias: tBias, padding: 2, dilation: 2, relu: true)) }),
            ("conv 3×3 \(c)→2", { backward(try tWide.replicationPaddedConv(tWOut, padding: 1)) }),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, body) in training where filter.map({ name.contains($0) }) ?? true {
            try time("RIM step, forward + backward: \(name)", repeats: repeats) {
                for t in trainable { t.zeroGrad() }
                try body()
            }
        }
        for (name, body) in rows where filter.map({ name.contains($0) }) ?? true { try time("RIM step: \(name)", repeats: repeats) { try Tensor.noGrad(body) } }
    }
}
