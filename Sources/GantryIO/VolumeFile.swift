import Foundation
import GantryCore

/// File formats Gantry reads and writes volumes in, chosen by file name.
public enum VolumeFormat: String, Sendable {
    case nifti = "NIfTI", niftiGzip = "NIfTI (gzip)", hdf5 = "HDF5", bart = "BART"

    public init(path: String) throws {
        let p = path.lowercased()
        if p.hasSuffix(".nii.gz") { self = .niftiGzip }
        else if p.hasSuffix(".nii") { self = .nifti }
        else if p.hasSuffix(".h5") || p.hasSuffix(".hdf5") { self = .hdf5 }
        else if p.hasSuffix(".cfl") || p.hasSuffix(".hdr") { self = .bart }
        else { throw GantryError.unsupported(path: path, problem: "unknown file type (use .nii, .nii.gz, .h5, .hdf5 or BART's .cfl)") }
    }
}

/// Reading and writing volumes in any supported format.
public enum VolumeFile {
    public static func read(_ path: String) throws -> Volume {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip: return try NIfTI.read(path)
        case .hdf5: return try VolumeHDF5.read(path)
        case .bart: return try readBART(path).magnitude
        }
    }

    /// A BART image `[x, y, z]` (or slices in BART's slice dimension 13) as a complex volume. BART
    /// stores no geometry: the affine is the identity (1 mm voxels, axes taken as RAS). Coils, maps
    /// and the other dimensions must already be combined (`bart rss`, `bart slice`).
    public static func readBART(_ path: String) throws -> ComplexVolume {
        let base = BARTFile.base(path)
        let (dims, data) = try BARTFile.read(base)
        let d = dims + Array(repeating: 1, count: max(0, 16 - dims.count))
        let extra = d.indices.filter { ![0, 1, 2, BARTFile.sliceDimension].contains($0) && d[$0] != 1 }
        guard extra.isEmpty, d[2] == 1 || d[BARTFile.sliceDimension] == 1 else {
            throw GantryError.unsupported(path: base + ".hdr", problem: "dimensions \(dims) are not one image [x, y, z] (combine coils/maps with bart first)")
        }
        return try ComplexVolume(shape: [d[0], d[1], d[2] * d[BARTFile.sliceDimension]], data: data)
    }

    /// Writes a complex volume as a BART image `[x, y, z]` (its geometry is lost: BART keeps none).
    static func writeBART(_ shape: [Int], data: [Float], to path: String) throws {
        try BARTFile.write(BARTFile.base(path), dims: Array(shape.prefix(3)) + Array(repeating: 1, count: max(0, 3 - shape.count)), data: data)
    }

    public static func write(_ v: Volume, to path: String, options: NIfTIWriteOptions = .init()) throws {
        switch try VolumeFormat(path: path) {
        case .nifti, .niftiGzip: try NIfTI.write(v, to: path, options: options)
        case .hdf5: try VolumeHDF5.write(v, to: path, datatype: options.datatype)
        case .bart:
            guard v.shape.count <= 3 else { throw GantryError.unsupported(path: path, problem: "a \(v.shape.count)-D volume; BART images here are [x, y, z]") }
            var complex = [Float](repeating: 0, count: 2 * v.data.count)
            for i in v.data.indices { complex[2 * i] = v.data[i] }
            try writeBART(v.shape, data: complex, to: path)
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
        case .bart: complex = try readBART(input)
        }
        if let c = complex {
            switch outFormat {
            case .nifti, .niftiGzip: try NIfTI.write(c, to: output, options: options)
            case .hdf5: try VolumeHDF5.write(c, to: output)
            case .bart: try writeBART(c.shape, data: c.data, to: output)
            }
        } else {
            try write(read(input), to: output, options: options)
        }
    }
}
