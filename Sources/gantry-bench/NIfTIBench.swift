import ArgumentParser
import Foundation
import GantryIO

struct NIfTIBench: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "nifti", abstract: "NIfTI read and write of a 256³ float32 and a BraTS-size int16 volume.")
    @Argument(help: "Working folder (inputs and outputs of the run).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 5

    func measure() throws {
        let filter = ProcessInfo.processInfo.environment["GANTRY_BENCH_FILTER"]
        for (label, stem) in [("256³ float32", "vol256_f32"), ("240×240×155 int16", "brats_i16")] {
            for ext in ["nii", "nii.gz"] where filter.map({ "\(label) .\(ext)".hasSuffix($0) }) ?? true {
                let peerFile = "\(dir)/\(stem)_nibabel.\(ext)"
                var sink: Float = 0
                try time("nifti read \(label) .\(ext)", repeats: repeats, extra: ["file": "nibabel-written"]) {
                    let v = try NIfTI.read(peerFile)
                    sink += v.data[v.count / 2]
                }
                let v = try NIfTI.read(peerFile)
                let out = "\(dir)/\(stem)_gantry_out.\(ext)"
                let type: NIfTIDataType = stem.contains("i16") ? .int16 : .float32
                try time("nifti write \(label) .\(ext)", repeats: repeats, extra: ["gzip_level": 1]) {
                    try NIfTI.write(v, to: out, options: .init(datatype: type, gzipLevel: 1))
                }
                if ext == "nii.gz" {
                    try time("nifti read \(label) .\(ext) (Gantry-written)", repeats: repeats, extra: ["file": "gantry-written"]) {
                        let v = try NIfTI.read(out)
                        sink += v.data[v.count / 2]
                    }
                    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
                    print("{\"name\": \"nifti size \(label) .nii.gz\", \"tool\": \"gantry\", \"bytes\": \(size)}")
                }
                if sink.isNaN { print("") }
            }
        }
    }
}
