import ArgumentParser
import GantryNN
import GantryRecon

struct RIMTrain: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "rim-train", abstract: "One RIM training step in a fresh process: time and peak memory.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Which case (0, 1, …).") var index: Int = 0

    func measure() throws {
        // One training step (forward of all steps, atommic's loss, backward) of RIM case `i` in a
        // fresh process: time and peak resident memory.
        let i = index
        let cases: [(String, RIMConfiguration)] = [("RIM IndRNN-64 8 steps", .make(cell: .indRNN, hidden: 64, timeSteps: 8, cascades: 1)),
                                                   ("RIM GRU-64 8 steps", .make(cell: .gru, hidden: 64, timeSteps: 8, cascades: 1))]
        guard cases.indices.contains(i) else { throw ValidationError("no case \(index)") }
        let (acq, target) = try RIMBench.slice()
        let net = try CIRIM(config: cases[i].1, seed: 1)
        net.recomputeSteps = true // as `gantry train recon` trains
        try time("\(cases[i].0) 8-coil 320² training step", repeats: 1) {
            try RIMLoss()(net.forward(try LearnedAcquisition.batch([acq])), target: target).backward()
        }
        reportPeakMemory("\(cases[i].0) 8-coil 320² training step")
    }
}
