import ArgumentParser
import Foundation
import GantryNN

struct NNOps: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "nn", abstract: "Tensor-engine layers, forward and forward + backward (PyTorch runs the same).")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 3

    func measure() throws {
        // GANTRY_BENCH_FILTER=substring runs only the matching rows (for profiling one shape).
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for c in NNBench.cases where filter.map({ c.name.contains($0) }) ?? true {
            let x = Tensor(uniform: c.input, bound: 1, seed: 1, requiresGrad: true)
            let w = Tensor(uniform: c.weight, bound: 0.1, seed: 2, requiresGrad: true)
            var y = try c.run(x, w)
            try time("\(c.name) forward", repeats: repeats, extra: ["gflop": c.gflop]) { y = try Tensor.noGrad { try c.run(x, w) } }
            y = try c.run(x, w)
            let r = Tensor(uniform: y.shape, bound: 1, seed: 3, requiresGrad: false)
            try time("\(c.name) forward+backward", repeats: repeats, extra: ["gflop": 3 * c.gflop]) {
                x.zeroGrad(); w.zeroGrad()
                let out = try c.run(x, w)
                (out * r).sum().backward()
            }
        }
    }
}
