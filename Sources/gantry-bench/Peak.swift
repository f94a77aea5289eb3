import ArgumentParser
import Foundation
import GantryCore
import GantryLinearAlgebra

struct Peak: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "peak", abstract: "The machine's FP32 peak as this binary reaches it.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 5

    func measure() throws {
        // The machine's FP32 peak as this binary reaches it: every core runs independent fused
        // multiply-adds on registers (no memory traffic), the ceiling for the tensor engine's
        // GFLOP/s (`make bench` reports each convolution's share of it).
        let steps = 20_000_000
        var sink = [Float](repeating: 0, count: Parallel.threads)
        time("peak FP32 FMA", repeats: repeats, extra: ["gflop": Double(Parallel.threads * steps * 24 * 2 * FMAPeak.Lane.scalarCount) / 1e9, "peak": true, "blas_kernels": BLASKernels.coreName]) {
            sink.withUnsafeMutableBufferPointer { sb in
                let out = sb.baseAddress!
                Parallel.forEach(Parallel.threads) { t in out[t] = FMAPeak.run(steps: steps, seed: Float(t)) }
            }
        }
        // read the sums, so the loops cannot be dropped (they converge to finite values)
        if !sink.reduce(0, +).isFinite { FileHandle.standardError.write("peak: non-finite sums\n".data(using: .utf8)!) }
    }
}

/// The machine a `make bench` section ran on, as the report names it: `lscpu`'s model name and the
/// OpenBLAS kernel set Gantry's GEMMs use there.
struct Machine: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "machine", abstract: "The CPU model and the OpenBLAS kernels in use, as one JSON line.")

    func run() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let line = try JSONSerialization.data(withJSONObject: ["machine": model, "blas_kernels": BLASKernels.coreName], options: [.sortedKeys])
        print(String(decoding: line, as: UTF8.self))
    }
}
