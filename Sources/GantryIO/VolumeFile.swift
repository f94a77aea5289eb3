import Foundation
import GantryCore

/// File formats Gantry reads and writes volumes in, chosen by file name.
public enum VolumeFormat: String, Sendable {
    case nifti = "NIfTI", niftiGzip = "NIfTI (gzip)", hdf5 = "HDF5"

    public init(path: String) throws {
        let p = path.lowercased()
        if p.hasSuffix(".nii.gz") { self = .niftiGzip }
        else if p.hasSuffix(".nii") { self = .nifti }
        else if p.hasSuffix(".h5") || p.hasSuffix(".hdf5") { self = .hdf5 }
        else { throw GantryError.unsupported(path: path, problem: "unknown file type (use .nii, .nii.gz, .h5 or .hdf5)") }
    }
}

/// Reading and writing volumes in any supported format.
public enum VolumeFile {
    public static func read(_ path: String) throws -> Volume {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip: return try NIfTI.read(path)
        case .hdf5: return try VolumeHDF5.read(path)
        }
    }

    public static func write(_ v: Volume, to path: String, options: NIfTIWriteOptions = .init()) throws {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip: try NIfTI.write(v, to: path, options: options)
        case .hdf5: try VolumeHDF5.write(v, to: path, datatype: options.datatype)
        }
    }

    /// Converts between formats keeping geometry (and complex data complex). The output is written
    /// atomically; the input is never modified, and converting a file onto itself is refused.
    public static func convert(_ input: String, to output: String, options: NIfTIWriteOptions = .init()) throws {
        let inFormat = try VolumeFormat(path: input)
        let outFormat = try VolumeFormat(path: output)
        if URL(fileURLWithPath: input).standardizedFileURL.path == URL(fileURLWithPath: output).standardizedFileURL.path {
            throw GantryError.invalidArgument("\(output): output is the input file")
        }
        // Complex data stay complex.
        var complex: ComplexVolume? = nil
        switch inFormat {
        case .nifti, .niftiGzip:
            let h = try NIfTI.readHeader(input)
            if h.type == .complex64 { complex = try NIfTI.readComplex(input) }
        case .hdf5:
            let f = try HDF5File(readingFrom: input)
            if f.contains(VolumeHDF5.dataset), try f.datasetInfo(VolumeHDF5.dataset).type.hasPrefix("complex") {
                complex = try VolumeHDF5.readComplex(input)
            } else if !f.contains(VolumeHDF5.dataset) && f.contains("kspace") {
                throw GantryError.unsupported(path: input, problem: "k-space file (no 'image' dataset): reconstruct it with `gantry recon`")
            }
        }
        if let c = complex {
            switch outFormat {
            case .nifti, .niftiGzip: try NIfTI.write(c, to: output, options: options)
            case .hdf5: try VolumeHDF5.write(c, to: output)
            }
        } else {
            try write(read(input), to: output, options: options)
        }
    }
}
