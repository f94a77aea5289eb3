// gantry-bench: timing harness for `make bench`. Prints one JSON object per benchmark on stdout:
// {"name": ..., "median_s": ..., "runs": [...], ...}. The peers' scripts print the same shape and
// scripts/bench/report.py joins them into BENCHMARKS.md.
import ArgumentParser
import Foundation
import GantryCore
import GantryNN
import GantryRecon

@main
struct GantryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gantry-bench",
        abstract: "Gantry's side of `make bench`: one JSON line per measurement.",
        discussion: """
        GANTRY_NUM_THREADS sets the worker threads; GANTRY_WINOGRAD=0, GANTRY_DIRECT=0, GANTRY_ROW_PAIRS=0, \
        GANTRY_CHANNEL_VECTORS=0, GANTRY_TAP_PLANES=0 and GANTRY_WINOGRAD_DW=0 leave those convolution kernels out (A/B comparisons; the library \
        itself reads no environment); GANTRY_BENCH_FILTER=substring runs only the matching rows of nifti, \
        nn, layers, segnet, rim and rim-layers; GANTRY_LAYER="cin,cout,d,h,w[,stride]" times one 3×3×3 layer in `layers`.
        """,
        subcommands: [Machine.self, MakeInputs.self, NIfTIBench.self, HDF5Bench.self, FFTBench.self, PicsBench.self, NNMemory.self, Peak.self, NNOps.self, Layers.self, SegNet.self, SegNetFull.self, SegNetMemory.self, RIMBenchCommand.self, RIMLayers.self, RIMTrain.self, ReconQuality.self]
    )
}

/// A benchmark command: `measure()` runs with the thread count and convolution kernels the
/// environment asks for, and an error ends the process with one line.
protocol BenchCommand: ParsableCommand {
    func measure() throws
}

extension BenchCommand {
    func run() throws {
        let env = ProcessInfo.processInfo.environment
        if let s = env["GANTRY_NUM_THREADS"], let n = Int(s), n > 0 { Parallel.setDefaultThreads(n) }
        FFTPlan.setPlanning(FFTPlanning(environment: env))
        let kernels = ConvolutionKernels(winograd: env["GANTRY_WINOGRAD"] != "0", direct: env["GANTRY_DIRECT"] != "0",
                                         rowPairs: env["GANTRY_ROW_PAIRS"] != "0", channelVectors: env["GANTRY_CHANNEL_VECTORS"] != "0",
                                         tapPlanes: env["GANTRY_TAP_PLANES"] != "0", winogradWeightGradient: env["GANTRY_WINOGRAD_DW"] != "0")
        try ConvolutionKernels.with(kernels) { try measure() }
    }
}
