import ArgumentParser
import Foundation
import GantryIO

/// Reading fastMRI-size k-space written by h5py, as stored in the published files (contiguous) and
/// chunked with gzip (as converted datasets often are); scripts/bench/peers_hdf5.py makes the files
/// and times h5py on them.
struct HDF5Bench: BenchCommand {
    static let configuration = CommandConfiguration(commandName: "hdf5", abstract: "HDF5 k-space read (16 × 16 × 640 × 320 complex64), contiguous and chunked gzip.")
    @Argument(help: "Working folder (peers_hdf5.py make-inputs wrote the files).") var dir: String
    @Argument(help: "Repetitions per row.") var repeats: Int = 3

    func measure() throws {
        for (label, file) in [("contiguous", "kspace_contiguous.h5"), ("chunked gzip", "kspace_gzip.h5")] {
            var sink: Float = 0
            try time("hdf5 read k-space \(label)", repeats: repeats, extra: ["data_bytes": 16 * 16 * 640 * 320 * 8]) {
                let k = try HDF5File(readingFrom: "\(dir)/\(file)").readComplex("kspace")
                sink += k.data[k.data.count / 2]
            }
            if sink.isNaN { print("") }
        }
    }
}
