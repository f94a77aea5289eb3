import ArgumentParser
import Foundation
import GantryRecon

struct RIMBenchCommand: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "rim", abstract: "RIM and CIRIM inference on one 8-coil 320² slice (atommic runs the same).")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 3

    func measure() throws {
        // One 8-coil 320² slice through the RIM/CIRIM shapes atommic was timed on (issue #7; the
        // unmodified atommic RIMBlock runs the same in scripts/bench/peers_rim.py). Weights are
        // random: speed does not depend on them.
            let batch = try LearnedAcquisition.batch([try RIMBench.slice().acquisition])
        let cases: [(String, RIMConfiguration, Int)] = [
            ("RIM IndRNN-64 8 steps", .make(cell: .indRNN, hidden: 64, timeSteps: 8, cascades: 1), repeats),
            ("RIM GRU-64 8 steps", .make(cell: .gru, hidden: 64, timeSteps: 8, cascades: 1), repeats),
            ("CIRIM IndRNN-128 5×8 steps", .make(cell: .indRNN, hidden: 128, timeSteps: 8, cascades: 5), 1),
        ]
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (name, cfg, r) in cases where filter.map({ name.contains($0) }) ?? true {
            let net = try CIRIM(config: cfg, seed: 1)
            try time("\(name) 8-coil 320² inference", repeats: r) { _ = try net.reconstruct(batch) }
        }
    }
}
