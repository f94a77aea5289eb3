// gantry-bench: timing harness for `make bench`. Prints one JSON object per benchmark on stdout:
// {"name": ..., "median_s": ..., "runs": [...], ...}. The peers' scripts print the same shape and
// scripts/bench/report.py joins them into BENCHMARKS.md.
import Foundation
import GantryCore
import GantryIO
import GantryPhantoms

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func time(_ name: String, repeats: Int, extra: [String: Any] = [:], _ body: () throws -> Void) rethrows {
    var runs: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        try body()
        runs.append(now() - t0)
    }
    let sorted = runs.sorted()
    var obj: [String: Any] = ["name": name, "tool": "gantry", "median_s": sorted[sorted.count / 2], "runs": runs, "threads": Parallel.threads]
    for (k, v) in extra { obj[k] = v }
    let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
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

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: gantry-bench make-inputs DIR | nifti DIR\n".data(using: .utf8)!)
    exit(64)
}
let dir = args[2]
do {
    switch args[1] {
    case "make-inputs":
        // Raw inputs for every tool; each tool's reading benchmark uses the nibabel-written copies.
        let big = try testVolume(shape: [256, 256, 256])
        try NIfTI.write(big, to: dir + "/vol256_f32_gantry.nii")
        var brats = try testVolume(shape: [240, 240, 155])
        brats.data = brats.data.map { ($0 * 1000).rounded() }
        try NIfTI.write(brats, to: dir + "/brats_i16_gantry.nii", options: .init(datatype: .int16))
    case "nifti":
        let reps = Int(args.count > 3 ? args[3] : "5") ?? 5
        for (label, stem) in [("256³ float32", "vol256_f32"), ("240×240×155 int16", "brats_i16")] {
            for ext in ["nii", "nii.gz"] {
                let peerFile = "\(dir)/\(stem)_nibabel.\(ext)"
                var sink: Float = 0
                try time("nifti read \(label) .\(ext)", repeats: reps, extra: ["file": "nibabel-written"]) {
                    let v = try NIfTI.read(peerFile)
                    sink += v.data[v.count / 2]
                }
                let v = try NIfTI.read(peerFile)
                let out = "\(dir)/\(stem)_gantry_out.\(ext)"
                let type: NIfTIDataType = stem.contains("i16") ? .int16 : .float32
                try time("nifti write \(label) .\(ext)", repeats: reps, extra: ["gzip_level": 1]) {
                    try NIfTI.write(v, to: out, options: .init(datatype: type, gzipLevel: 1))
                }
                if ext == "nii.gz" {
                    try time("nifti read \(label) .\(ext) (Gantry-written)", repeats: reps, extra: ["file": "gantry-written"]) {
                        let v = try NIfTI.read(out)
                        sink += v.data[v.count / 2]
                    }
                    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
                    print("{\"name\": \"nifti size \(label) .nii.gz\", \"tool\": \"gantry\", \"bytes\": \(size)}")
                }
                if sink.isNaN { print("") }
            }
        }
    default:
        FileHandle.standardError.write("unknown benchmark \(args[1])\n".data(using: .utf8)!)
        exit(64)
    }
} catch {
    FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
