import ArgumentParser
import Foundation
import GantryCore
import GantryLinearAlgebra
import GantryRecon

/// The `gantry` command line. Each subcommand parses its arguments, calls one library function and
/// prints; failures print one line (`Error: FILE: problem`) and exit non-zero.
@main
struct Gantry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gantry",
        abstract: "Medical-imaging pipelines: NIfTI/HDF5 I/O, reconstruction, segmentation, registration, reports.",
        version: GantryVersion.string,
        subcommands: [Run.self, Bids.self, Status.self, Import.self, Stages.self, Recon.self, Mask.self, Register.self, WarpImage.self, Segment.self, Train.self, Dice.self, Info.self, Convert.self, Phantom.self, Snapshot.self]
    )

    /// ArgumentParser's entry point, after the crash report is installed.
    static func main() {
        CrashReport.install()
        // The environment is read here, by the program, and handed to the libraries.
        let env = ProcessInfo.processInfo.environment
        if let s = env["GANTRY_NUM_THREADS"], let n = Int(s), n > 0 { Parallel.setDefaultThreads(n) }
        FFTPlan.setPlanning(FFTPlanning(environment: env))
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command that computes accepts.
struct ComputeOptions: ParsableArguments {
    @Option(name: .long, help: "Worker threads (default: all cores, or GANTRY_NUM_THREADS).")
    var threads: Int?

    @OptionGroup var output: OutputOptions

    func apply() throws {
        output.apply()
        MemoryPolicy.reuseLargeBlocks()
        if let t = threads {
            guard t > 0 else { throw ValidationError("--threads must be positive") }
            Parallel.setDefaultThreads(t)
        }
    }
}
