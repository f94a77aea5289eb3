// The timing helpers and benchmark inputs the commands share.
import ArgumentParser
import Foundation
import GantryCore
import GantryIO
import GantryMetrics
import GantryPhantoms
import GantryRecon
import GantryNN
import GantrySegmentation

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func time(_ name: String, tool: String = "gantry", repeats: Int, extra: [String: Any] = [:], _ body: () throws -> Void) rethrows {
    var runs: [Double] = [], cpu: [Double] = []
    for _ in 0..<repeats {
        let (t0, c0) = (now(), cpuSeconds())
        try body()
        runs.append(now() - t0)
        cpu.append(cpuSeconds() - c0)
    }
    let sorted = runs.sorted()
    // CPU seconds (both threads) as well as wall time: on this shared VM the wall time of one
    // command drifts by 30–100 % within minutes, CPU time (stolen time excluded) much less — A/B
    // comparisons of kernels read `cpu_s`.
    var obj: [String: Any] = ["name": name, "tool": tool, "median_s": sorted[sorted.count / 2], "runs": runs, "threads": Parallel.threads,
                              "cpu_s": cpu.sorted()[cpu.count / 2]]
    for (k, v) in extra { obj[k] = v }
    let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

/// The arguments of a row that runs one case per fresh process (so its peak memory is its own):
/// the working folder and the case's index.
struct FreshProcessCase: ParsableArguments {
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Which case (0, 1, …).") var index: Int = 0

    /// The chosen one of `cases`, or the parser's error naming the index.
    func pick<T>(_ cases: [T]) throws -> T {
        guard cases.indices.contains(index) else { throw ValidationError("no case \(index)") }
        return cases[index]
    }
}

/// Prints this process's peak resident memory (MB) as the row "`name` peak RSS (MB)" — the
/// memory rows run one case per fresh process, so the peak is that case's.
func reportPeakMemory(_ name: String) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("{\"name\": \"\(name) peak RSS (MB)\", \"tool\": \"gantry\", \"score\": \(Double(usage.ru_maxrss) / 1024)}")
}

/// User + system CPU time of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Deterministic test volume: Shepp–Logan with quantised noise (compresses like a real scan, roughly).
func testVolume(shape: [Int]) throws -> Volume {
    var v = try SheppLogan.volume(shape: shape, spacing: 1)
    var s: UInt64 = 42
    for i in 0..<v.data.count {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(s >> 40) / Float(1 << 24) - 0.5
        v.data[i] = ((v.data[i] + 0.02 * u) * 1000).rounded() / 1000
    }
    return v
}

/// The RIM benchmarks' input: a Shepp–Logan 320² slice seen by 8 coils, 4× equispaced.
enum RIMBench {
    static func slice() throws -> (acquisition: LearnedAcquisition, target: Tensor) {
        let n = 320
        let v = try SheppLogan.volume(shape: [n, n, 3], spacing: 1)
        let file = try CoilSimulation(coils: 8, seed: 1).simulate(v, slices: [1], acquisition: "SL")
        return try ReconSample.slices(of: file)[0].undersampled(try SamplingMask(kind: .equispaced, acceleration: 4, centerFraction: 0.08, seed: 0).make(ny: n, nx: n))
    }
}

/// The conv shapes of issue #3's benchmark rows (PyTorch runs the same in scripts/bench/peers_nn.py).
enum NNBench {
    struct Case: Sendable { let name: String; let input: [Int]; let weight: [Int]; let gflop: Double; let run: @Sendable (Tensor, Tensor) throws -> Tensor }
    /// UNet 8-16-32-64's 3×3×3 convolutions at a 128³ input (transposed: k3, stride 2, output padding 1, as MONAI's up path).
    static let unetLayers: [(cin: Int, cout: Int, size: Int, stride: Int, transposed: Bool)] = [
        (4, 8, 128, 2, false), (8, 8, 64, 1, false), (8, 16, 64, 2, false), (16, 16, 32, 1, false), (16, 32, 32, 2, false), (32, 32, 16, 1, false),
        (32, 64, 16, 1, false), (64, 64, 16, 1, false), (96, 16, 16, 2, true), (32, 8, 32, 2, true), (16, 4, 64, 2, true), (4, 4, 128, 1, false),
    ]
    static let cases: [Case] = [
        Case(name: "conv3d 1×32×64³→32 k3", input: [1, 32, 64, 64, 64], weight: [32, 32, 3, 3, 3], gflop: 2 * 32 * 32 * 27 * 262144 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1)) },
        Case(name: "conv3d 1×16×128³→16 k3", input: [1, 16, 128, 128, 128], weight: [16, 16, 3, 3, 3], gflop: 2 * 16 * 16 * 27 * 2097152 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1)) },
        Case(name: "depthwise conv3d 3³ 1×64×64³", input: [1, 64, 64, 64, 64], weight: [64, 1, 3, 3, 3], gflop: 2 * 64 * 27 * 262144 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1, groups: 64)) },
        Case(name: "conv-transpose3d 2× 1×32×32³→16", input: [1, 32, 32, 32, 32], weight: [32, 16, 2, 2, 2], gflop: 2 * 32 * 16 * 8 * 32768 / 1e9) { x, w in try x.convTranspose(w, .uniform(stride: 2)) },
        Case(name: "conv2d 1×64×320²→64 k3", input: [1, 64, 320, 320], weight: [64, 64, 3, 3], gflop: 2 * 64 * 64 * 9 * 102400 / 1e9) { x, w in try x.conv(w, .uniform(padding: 1, dims: 2)) },
        // CIRIM's dominant layer (75 % of its FLOPs): 3×3, dilation 2, 128 → 128 channels.
        Case(name: "conv2d 1×128×320²→128 k3 d2", input: [1, 128, 320, 320], weight: [128, 128, 3, 3], gflop: 2 * 128 * 128 * 9 * 102400 / 1e9) { x, w in try x.conv(w, .uniform(padding: 2, dilation: 2, dims: 2)) },
    ]
}

/// 24 independent chains a ← a·m + c (enough to cover the FMA latency on two pipes) in one flat loop.
enum FMAPeak {
    typealias Lane = SIMD16<Float>
    static func run(steps: Int, seed: Float) -> Float {
        let m = Lane(repeating: 0.999_999), c = Lane(repeating: 1e-7)
        var a0 = Lane(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7
        var a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11, a12 = a0 + 12, a13 = a0 + 13, a14 = a0 + 14, a15 = a0 + 15
        var a16 = a0 + 16, a17 = a0 + 17, a18 = a0 + 18, a19 = a0 + 19, a20 = a0 + 20, a21 = a0 + 21, a22 = a0 + 22, a23 = a0 + 23
        for _ in 0..<steps {
            a0 = c.addingProduct(a0, m); a1 = c.addingProduct(a1, m); a2 = c.addingProduct(a2, m); a3 = c.addingProduct(a3, m)
            a4 = c.addingProduct(a4, m); a5 = c.addingProduct(a5, m); a6 = c.addingProduct(a6, m); a7 = c.addingProduct(a7, m)
            a8 = c.addingProduct(a8, m); a9 = c.addingProduct(a9, m); a10 = c.addingProduct(a10, m); a11 = c.addingProduct(a11, m)
            a12 = c.addingProduct(a12, m); a13 = c.addingProduct(a13, m); a14 = c.addingProduct(a14, m); a15 = c.addingProduct(a15, m)
            a16 = c.addingProduct(a16, m); a17 = c.addingProduct(a17, m); a18 = c.addingProduct(a18, m); a19 = c.addingProduct(a19, m)
            a20 = c.addingProduct(a20, m); a21 = c.addingProduct(a21, m); a22 = c.addingProduct(a22, m); a23 = c.addingProduct(a23, m)
        }
        let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23
        return s.sum()
    }
}
