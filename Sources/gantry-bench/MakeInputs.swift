import ArgumentParser
import GantryIO

struct MakeInputs: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "make-inputs", abstract: "Write the raw inputs every tool reads (NIfTI volumes).")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String

    func measure() throws {
        // Raw inputs for every tool; each tool's reading benchmark uses the nibabel-written copies.
        let big = try testVolume(shape: [256, 256, 256])
        try NIfTI.write(big, to: dir + "/vol256_f32_gantry.nii")
        var brats = try testVolume(shape: [240, 240, 155])
        brats.data = brats.data.map { ($0 * 1000).rounded() }
        try NIfTI.write(brats, to: dir + "/brats_i16_gantry.nii", options: .init(datatype: .int16))
    }
}
