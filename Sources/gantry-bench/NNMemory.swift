import ArgumentParser
import GantryNN

struct NNMemory: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "nn-memory", abstract: "Peak memory of one forward + backward of one tensor-engine case.")
    @OptionGroup var run: FreshProcessCase

    func measure() throws {
        // One forward+backward of case `i` in a fresh process: peak resident memory (MB).
        let c = try run.pick(NNBench.cases)
        let x = Tensor(uniform: c.input, bound: 1, seed: 1, requiresGrad: true)
        let w = Tensor(uniform: c.weight, bound: 0.1, seed: 2, requiresGrad: true)
        let y = try c.run(x, w)
        (y * Tensor(uniform: y.shape, bound: 1, seed: 3, requiresGrad: false)).sum().backward()
        reportPeakMemory("\(c.name) fwd+bwd")
    }
}
