import ArgumentParser
import GantryRecon

struct FFTBench: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "fft", abstract: "Centred orthonormal 2D and 3D FFTs against bare FFTW.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 5

    func measure() throws {
        for (label, shape, batch) in [("2D 15×320×320", [320, 320], 15), ("3D 256³", [256, 256, 256], 1)] {
            let plan = try FFTPlan.plan(shape: shape, batch: batch)
            var x = [Float](repeating: 0, count: 2 * shape.reduce(1, *) * batch)
            var s: UInt64 = 1
            for i in 0..<x.count { s = s &* 6364136223846793005 &+ 1442695040888963407; x[i] = Float(Int64(bitPattern: s) >> 40) / Float(1 << 23) }
            try plan.forward(&x)  // warm up
            try time("fft \(label) centred ortho", repeats: repeats, extra: ["variant": "Gantry FFTPlan.forward (shifts + scaling + copies)"]) { try plan.forward(&x) }
            try time("fft \(label) centred ortho", tool: "FFTW (bare execute)", repeats: repeats) { try plan.rawExecute() }
        }
    }
}
