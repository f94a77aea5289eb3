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
        let bias = Tensor(uniform: [c], bound: 0.1, seed: 8), u = Tensor(uniform: [1, c, 1, 1], bound: 0.5, seed: 9)
        let rows: [(String, () throws -> Void)] = [
            ("data-term gradient (8 coils)", { _ = try x.logLikelihoodGradient(batch) }),
            ("replication pad 2 + conv 5×5 4→\(c) + ReLU", { _ = try four.replicationPaddedConv(w5, bias: bias, padding: 2, relu: true) }),
            ("conv 1×1 \(c)→\(c)", { _ = try wide.conv(w1, bias: bias, .uniform(dims: 2)) }),
            ("IndRNN update", { _ = try wide.indRNNUpdate(hidden: h, weight: u) }),
            ("replication pad 2 + conv 3×3 d2 \(c)→\(c) + ReLU", { _ = try wide.replicationPaddedConv(w3, bias: bias, padding: 2, dilation: 2, relu: true) }),
            ("replication pad 1 + conv 3×3 \(c)→2", { _ = try wide.replicationPaddedConv(wOut, padding: 1) }),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, body) in rows where filter.map({ name.contains($0) }) ?? true { try time("RIM step: \(name)", repeats: repeats) { try Tensor.noGrad(body) } }
    }
}
