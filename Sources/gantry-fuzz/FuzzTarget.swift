import Foundation
import GantryCore
import GantryIO
import GantryNN
import GantryPipeline
import GantryRegistration

/// The parsers Gantry runs on files it did not write, each as a function of raw bytes. A target
/// passes when it returns or throws; a trap, a crash or a sanitizer report is a finding.
enum FuzzTarget: String, CaseIterable {
    /// NIfTI-1/2 header, gzip and voxel decoding (in memory).
    case nifti
    /// fastMRI/ISMRMRD k-space and `info` through Gantry's HDF5 reader (which reads a file: the
    /// input is written to a private temporary one).
    case hdf5
    /// safetensors header, offsets and tensor data (in memory).
    case safetensors
    /// Pipeline YAML: parsing and validation against a one-subject study.
    case pipeline
    /// ITK/ANTs affine transform text.
    case itk

    func run(_ bytes: [UInt8]) {
        switch self {
        case .nifti:
            _ = try? NIfTI.read(bytes: bytes, name: "fuzz.nii")
        case .hdf5:
            let path = Scratch.shared.folder + "/input.h5"
            defer { unlink(path) }
            guard Scratch.write(bytes, to: path) else { return }
            _ = try? KSpaceFile.read(path)
            _ = try? Inspect.describe(path)
        case .safetensors:
            _ = try? SafeTensors.decode(bytes, name: "fuzz.safetensors")
        case .pipeline:
            let text = String(decoding: bytes, as: UTF8.self)
            if let spec = try? PipelineSpec.parse(text, path: "fuzz.yaml") {
                _ = try? Plan.make(spec: spec, study: Scratch.shared.study, out: Scratch.shared.folder + "/out")
            }
        case .itk:
            _ = try? ITKTransformFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.txt")
            _ = try? ITKTransformFile.parseMat(bytes, path: "fuzz.mat")
        }
    }
}

/// A private folder per process: the HDF5 target's file and a one-subject study for plan validation.
final class Scratch: Sendable {
    static let shared = Scratch()
    let folder: String
    var study: String { folder + "/study" }

    /// In memory (/dev/shm) where it exists: each input is written once, and a disk's writeback
    /// made the HDF5 target wait on I/O.
    init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        folder = base + "gantry-fuzz-\(getpid())"
        let anat = folder + "/study/sub-01/anat"
        try? FileManager.default.createDirectory(atPath: anat, withIntermediateDirectories: true)
        for name in ["sub-01_T1w.nii.gz", "sub-01_label-brain_mask.nii.gz", "sub-01_label-tissue_dseg.nii.gz"] {
            _ = FileManager.default.createFile(atPath: anat + "/" + name, contents: Data())
        }
        // Removed when the process exits (/dev/shm is memory).
        atexit { try? FileManager.default.removeItem(atPath: Scratch.shared.folder) }
    }

    /// Writes `bytes` with plain system calls (no temporary file, no flush to disk).
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
