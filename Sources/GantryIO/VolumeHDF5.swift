import GantryCore

/// Volumes in HDF5: dataset `image` whose h5py index `[i, j, k(, t)]` is voxel (i, j, k) exactly as
/// nibabel's `img.dataobj[i, j, k]` (so data are stored transposed relative to NIfTI's memory order),
/// with attributes `affine` (16 float64, row-major 4×4 voxel→RAS+ mm), `qform_code`, `sform_code`
/// and `description`. The dataset keeps the type the volume was read with when its values allow
/// (a uint8 label map stays uint8) and is gzip-compressed, so `.nii → .h5 → .nii` keeps datatype,
/// codes and description.
public enum VolumeHDF5 {
    public static let dataset = "image"

    public static func write(_ v: Volume, to path: String, datatype: NIfTIDataType? = nil) throws {
        let c = ArrayLayout.reversingAxes(v.data, shape: v.shape)
        try HDF5Writer.create(path) { f in
            try f.writeFloats(dataset, shape: v.shape, data: c, storedAs: storedType(v, asked: datatype), compressed: true)
            try setGeometry(f, affine: v.affine, header: v.header)
        }
    }

    /// The type to store: the one asked for or read with, when the values fit it exactly
    /// (integers in range, no scaling to undo), else float32.
    static func storedType(_ v: Volume, asked: NIfTIDataType?) -> NIfTIDataType {
        guard let t = asked ?? v.header.flatMap({ NIfTIDataType(rawValue: $0.datatype) }), t != .complex64 else { return .float32 }
        guard t.isInteger else { return t }
        if let h = v.header, asked == nil, h.sclSlope != 0, h.sclSlope.isFinite, h.sclSlope != 1 || h.sclInter != 0 { return .float32 }
        let range = t.range
        return v.data.allSatisfy({ range.contains(Double($0)) && $0 == $0.rounded() }) ? t : .float32
    }

    public static func write(_ v: ComplexVolume, to path: String) throws {
        let c = ArrayLayout.reversingAxes(v.data, shape: v.shape, elementSize: 2)
        try HDF5Writer.create(path) { f in
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

    static func setGeometry(_ f: HDF5Writer, affine: Affine, header: StoredHeader?) throws {
        try f.setAttribute("affine", .doubles(affine.m), on: dataset)
        try f.setAttribute("qform_code", .int(Int(header?.qformCode ?? 2)), on: dataset)
        try f.setAttribute("sform_code", .int(Int(header?.sformCode ?? 2)), on: dataset)
        if let d = header?.descrip, !d.isEmpty { try f.setAttribute("description", .string(d), on: dataset) }
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
        if case .string(let d)? = try? f.attribute("description", of: dataset) { h.descrip = d }
        if let info = try? f.datasetInfo(dataset), let t = NIfTIDataType(name: info.type) { h.datatype = t.rawValue }
        // Not the read affine: forces the NIfTI writer to derive qform/sform from `affine` with these codes.
        h.affineAtRead = Affine(rowMajor: [Double](repeating: .nan, count: 16))
        return h
    }
}
