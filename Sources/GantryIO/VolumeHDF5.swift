import GantryCore

/// Volumes in HDF5: dataset `image` whose h5py index `[i, j, k(, t)]` is voxel (i, j, k) exactly as
/// nibabel's `img.dataobj[i, j, k]` (so data are stored transposed relative to NIfTI's memory order),
/// with attributes `affine` (16 float64, row-major 4×4 voxel→RAS+ mm), `qform_code`, `sform_code`.
public enum VolumeHDF5 {
    public static let dataset = "image"

    public static func write(_ v: Volume, to path: String) throws {
        let c = ArrayLayout.reversingAxes(v.data, shape: v.shape)
        try HDF5File.create(path) { f in
            try f.writeFloats(dataset, shape: v.shape, data: c)
            try setGeometry(f, affine: v.affine, header: v.header)
        }
    }

    public static func write(_ v: ComplexVolume, to path: String) throws {
        let c = ArrayLayout.reversingAxes(v.data, shape: v.shape, elementSize: 2)
        try HDF5File.create(path) { f in
            try f.writeComplex(dataset, shape: v.shape, data: c)
            try setGeometry(f, affine: v.affine, header: v.header)
        }
    }

    public static func read(_ path: String) throws -> Volume {
        let f = try HDF5File(readingFrom: path)
        let (shape, data) = try f.readFloats(dataset)
        guard (1...7).contains(shape.count) else { throw GantryError.invalidFile(path: path, problem: "'image' has \(shape.count) dimensions") }
        let affine = try readAffine(f)
        let nifti = ArrayLayout.reversingAxes(data, shape: shape.reversed())
        return try Volume(shape: shape, affine: affine, data: nifti, header: header(f, affine: affine))
    }

    public static func readComplex(_ path: String) throws -> ComplexVolume {
        let f = try HDF5File(readingFrom: path)
        let (shape, data) = try f.readComplex(dataset)
        let affine = try readAffine(f)
        let nifti = ArrayLayout.reversingAxes(data, shape: shape.reversed(), elementSize: 2)
        return try ComplexVolume(shape: shape, affine: affine, data: nifti, header: header(f, affine: affine))
    }

    static func setGeometry(_ f: HDF5File, affine: Affine, header: StoredHeader?) throws {
        try f.setAttribute("affine", .doubles(affine.m), on: dataset)
        try f.setAttribute("qform_code", .int(Int(header?.qformCode ?? 2)), on: dataset)
        try f.setAttribute("sform_code", .int(Int(header?.sformCode ?? 2)), on: dataset)
    }

    static func readAffine(_ f: HDF5File) throws -> Affine {
        guard let a = try? f.attribute("affine", of: dataset) else { return .identity }
        guard case .doubles(let m) = a, m.count == 16 else {
            throw GantryError.invalidFile(path: f.path, problem: "attribute image@affine must hold 16 numbers")
        }
        return Affine(rowMajor: m)
    }

    /// Codes carried as a header whose forms are derived from the affine on NIfTI write.
    static func header(_ f: HDF5File, affine: Affine) -> StoredHeader? {
        let q = (try? f.attribute("qform_code", of: dataset))?.asDouble
        let s = (try? f.attribute("sform_code", of: dataset))?.asDouble
        guard q != nil || s != nil else { return nil }
        var h = StoredHeader()
        h.qformCode = Int32(q ?? 0)
        h.sformCode = Int32(s ?? 0)
        // Not the read affine: forces the NIfTI writer to derive qform/sform from `affine` with these codes.
        h.affineAtRead = Affine(rowMajor: [Double](repeating: .nan, count: 16))
        return h
    }
}
