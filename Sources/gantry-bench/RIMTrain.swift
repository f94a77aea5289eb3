import ArgumentParser
import GantryNN
import GantryRecon

struct RIMTrain: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "rim-train", abstract: "One RIM training step in a fresh process: time and peak memory.")
    @OptionGroup var run: FreshProcessCase

    func measure() throws {
        // One training step (forward of all steps, atommic's loss, backward) of RIM case `i` in a
        // fresh process: time and peak resident memory.
        let cases: [(String, RIMConfiguration)] = [("RIM IndRNN-64 8 steps", .make(cell: .indRNN, hidden: 64, timeSteps: 8, cascades: 1)),
                                                   ("RIM GRU-64 8 steps", .make(cell: .gru, hidden: 64, timeSteps: 8, cascades: 1))]
        let (name, config) = try run.pick(cases)
        let (acq, target) = try RIMBench.slice()
        let net = try CIRIM(config: config, seed: 1)
        net.recomputeSteps = true // as `gantry train recon` trains
        try time("\(name) 8-coil 320² training step", repeats: 1) {
            try RIMLoss()(net.forward(try LearnedAcquisition.batch([acq])), target: target).backward()
        }
        reportPeakMemory("\(name) 8-coil 320² training step")
    }
}
