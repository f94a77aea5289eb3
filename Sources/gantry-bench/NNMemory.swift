import ArgumentParser
import GantryNN

struct NNMemory: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "nn-memory", abstract: "Peak memory of one forward + backward of one tensor-engine case.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Which case (0, 1, …).") var index: Int = 0

    func measure() throws {
        // One forward+backward of case `i` in a fresh process: peak resident memory (MB).
        let i = index
        guard NNBench.cases.indices.contains(i) else { throw ValidationError("no case \(index)") }
        let c = NNBench.cases[i]
        let x = Tensor(uniform: c.input, bound: 1, seed: 1, requiresGrad: true)
        let w = Tensor(uniform: c.weight, bound: 0.1, seed: 2, requiresGrad: true)
        let y = try c.run(x, w)
        (y * Tensor(uniform: y.shape, bound: 1, seed: 3, requiresGrad: false)).sum().backward()
        reportPeakMemory("\(c.name) fwd+bwd")
    }
}
