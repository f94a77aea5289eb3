import CNIfTI
import Foundation
import GantryCore

/// Options for writing NIfTI files.
public struct NIfTIWriteOptions: Sendable {
    /// Stored datatype; nil keeps the type the volume was read with, else float32.
    public var datatype: NIfTIDataType?
    /// gzip level for `.nii.gz` (libdeflate scale 0–12; 1 is fast, as nibabel's default).
    public var gzipLevel: Int
    /// NIfTI version (1 or 2); nil keeps the version read, else 1 (2 when dims exceed 32767).
    public var version: Int?
    /// NIfTI intent code (0: none; e.g. 1007 `NIFTI_INTENT_VECTOR` for ITK-style displacement fields).
    public var intent: Int32

    public init(datatype: NIfTIDataType? = nil, gzipLevel: Int = 1, version: Int? = nil, intent: Int32 = 0) {
        self.datatype = datatype; self.gzipLevel = gzipLevel; self.version = version; self.intent = intent
    }


    /// For a label map: uint8 when its values fit (up to 255), else int16 (atlases such as AAL).
    public static func labels(_ v: Volume) -> NIfTIWriteOptions {
        NIfTIWriteOptions(datatype: (v.data.max() ?? 0) > 255 ? .int16 : .uint8)
    }
}

/// NIfTI-1 and NIfTI-2 files (`.nii`, `.nii.gz`) through libnifti2.
///
/// libnifti decodes and encodes the header (byte order, quaternion ↔ matrix, field checks); Gantry
/// does the byte I/O itself, so it reads exactly the file named (libnifti would open `X.nii` when
/// asked for `X.nii.gz` if both exist) and runs gzip through libdeflate on all cores.
///
/// Geometry policy (as nibabel): the affine is the sform when `sform_code > 0`, else the qform when
/// `qform_code > 0`, else nibabel's fallback (x flipped, centred on the grid). Both forms and their codes
/// are kept in `Volume.header` and written back unchanged while the affine is unchanged.
public enum NIfTI {
    // MARK: Reading

    /// Reads a real-valued NIfTI volume; integer data are scaled by `scl_slope`/`scl_inter`.
    public static func read(_ path: String) throws -> Volume {
        let file = try load(path)
        guard file.type != .complex64 else {
            throw GantryError.unsupported(path: path, problem: "complex64 data: read it as a complex volume")
        }
        return try Volume(shape: file.shape, affine: file.header.affineAtRead, data: file.values,
                          extraSpacing: file.extraSpacing, header: file.header)
    }

    /// Decodes a whole `.nii` or `.nii.gz` file held in memory (`name` only names it in errors);
    /// the same checks as reading from disk.
    public static func read(bytes: [UInt8], name: String) throws -> Volume {
        var storage = [Float](repeating: 0, count: (bytes.count + 3) / 4)
        bytes.withUnsafeBytes { source in storage.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
        let file = try load(storage: storage, byteCount: bytes.count, path: name, withData: true)
        guard file.type != .complex64 else { throw GantryError.unsupported(path: name, problem: "complex64 data: read it as a complex volume") }
        return try Volume(shape: file.shape, affine: file.header.affineAtRead, data: file.values, extraSpacing: file.extraSpacing, header: file.header)
    }

    /// Reads a complex64 NIfTI volume.
    public static func readComplex(_ path: String) throws -> ComplexVolume {
        let file = try load(path)
        guard file.type == .complex64 else {
            throw GantryError.unsupported(path: path, problem: "\(file.type.name) data is not complex64")
        }
        return try ComplexVolume(shape: file.shape, affine: file.header.affineAtRead, data: file.values,
                                 extraSpacing: file.extraSpacing, header: file.header)
    }

    /// Reads only the header: shape, datatype and geometry.
    public static func readHeader(_ path: String) throws -> (shape: [Int], type: NIfTIDataType, header: StoredHeader) {
        let file = try load(path, withData: false)
        return (file.shape, file.type, file.header)
    }

    struct Loaded {
        var shape: [Int]
        var type: NIfTIDataType
        var header: StoredHeader
        var extraSpacing: [Double]
        var values: [Float]
        /// Float32 voxels left in the read buffer at `offset`, to be moved to the front.
        var inPlaceFloats = 0
        var offset = 0
    }

    static func load(_ path: String, withData: Bool = true) throws -> Loaded {
        // An uncompressed file: its header on its own and the voxels, from vox_offset on, straight
        // into Float storage (float32 voxels need no move afterwards: 67 MB at 256³).
        if withData, let (split, peeked, fileSize) = try voxelOffset(path) {
            // the first bytes read to find the offset are the header unless extensions make it longer
            let head = split <= peeked.count ? peeked : try FileIO.readAll(path, as: UInt8.self, limit: split).storage
            var (storage, _, _) = try FileIO.readAll(path, as: Float.self, from: split)
            if head.count >= split {
                let parsed = try head.withUnsafeBytes { h in
                    try storage.withUnsafeBytes { v in
                        try parse(UnsafeRawBufferPointer(rebasing: h[0..<split]), fileSize: fileSize, data: v.baseAddress!, dataAt: split,
                                  withData: true, path: path)
                    }
                }
                if var loaded = parsed {
                    if loaded.inPlaceFloats > 0 {
                        storage.removeLast(storage.count - loaded.inPlaceFloats)
                        loaded.values = storage
                    }
                    return loaded
                }
            }
        }
        // The whole file (decompressed) in Float-typed storage, so float32 voxels need no second
        // buffer: they are moved to the front in place.
        let (storage, byteCount, _) = try FileIO.readAll(path, as: Float.self)
        return try load(storage: storage, byteCount: byteCount, path: path, withData: withData)
    }

    /// A file's bytes (`byteCount` of them, in Float-typed storage) decoded: gzip, header, voxels.
    static func load(storage: [Float], byteCount: Int, path: String, withData: Bool) throws -> Loaded {
        var (storage, byteCount) = (storage, byteCount)
        let gz = storage.withUnsafeBytes { Gzip.isGzip(UnsafeRawBufferPointer(rebasing: $0[0..<min(byteCount, 2)])) }
        if gz {
            (storage, byteCount) = try storage.withUnsafeBytes {
                let compressed = UnsafeRawBufferPointer(rebasing: $0[0..<byteCount])
                // The header first, so the rest is inflated into a buffer of the declared size and
                // a damaged stream cannot make it grow past that.
                let head = Gzip.prefix(compressed, count: 544)
                guard head.count >= 348 else {
                    throw GantryError.invalidFile(path: path, problem: "corrupt or truncated gzip data: \(head.count) bytes inflate, too few for a NIfTI header")
                }
                let expected = try head.withUnsafeBytes { try declaredFileSize($0, path: path) }
                return try Gzip.decompress(compressed, path: path, as: Float.self, expectedSize: expected)
            }
        }
        let parsed = try storage.withUnsafeBytes { whole in
            try parse(UnsafeRawBufferPointer(rebasing: whole[0..<byteCount]), fileSize: byteCount, data: whole.baseAddress!, dataAt: 0,
                      withData: withData, path: path)
        }
        guard var loaded = parsed else { throw GantryError.invalidFile(path: path, problem: "unreadable NIfTI header") }
        if loaded.inPlaceFloats > 0 {
            let (count, offset) = (loaded.inPlaceFloats, loaded.offset)
            storage.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count * 4) }
            storage.removeLast(storage.count - count)
            loaded.values = storage
        }
        return loaded
    }

    /// NIfTI version (1 or 2) and byte order told by the header's first field, sizeof_hdr.
    static func headerKind(_ sizeofHdr: Int32) -> (version: Int, swapped: Bool)? {
        switch sizeofHdr {
        case 348: return (1, false)
        case Int32(348).byteSwapped: return (1, true)
        case 540: return (2, false)
        case Int32(540).byteSwapped: return (2, true)
        default: return nil
        }
    }

    /// vox_offset of an uncompressed single-file NIfTI when it can be read from the first bytes
    /// (a whole number, past the header, inside the file), with those bytes (up to 544) and the
    /// file's size; nil for anything else (gzip, damage), which the whole-file path reads or reports.
    static func voxelOffset(_ path: String) throws -> (offset: Int, head: [UInt8], fileSize: Int)? {
        let (b, count, fileSize) = try FileIO.readAll(path, as: UInt8.self, limit: 544)
        guard count >= 348, b[0] != 0x1f || b[1] != 0x8b else { return nil }
        guard let (version, swapped) = headerKind(b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Int32.self) }),
              count >= (version == 1 ? 348 : 540) else { return nil }
        let offset: Double = b.withUnsafeBytes { r in
            if version == 1 {
                let bits = r.loadUnaligned(fromByteOffset: 108, as: UInt32.self)
                return Double(Float(bitPattern: swapped ? bits.byteSwapped : bits))
            }
            let v = r.loadUnaligned(fromByteOffset: 168, as: Int64.self)
            return Double(swapped ? v.byteSwapped : v)
        }
        guard offset.isFinite, offset == offset.rounded(), offset >= (version == 1 ? 348 : 540), offset <= Double(fileSize) else { return nil }
        return (Int(offset), Array(b.prefix(count)), fileSize)
    }

    /// Parses a header (`b`: the file's first bytes, the whole file when voxels follow in the same
    /// buffer) and decodes the voxels, file byte k of them at `data + (k − dataAt)`. Returns nil
    /// when the header's data offset is not `dataAt` in a split read (the caller then reads the
    /// whole file).
    static func parse(_ b: UnsafeRawBufferPointer, fileSize: Int, data: UnsafeRawPointer, dataAt: Int, withData: Bool, path: String) throws -> Loaded? {
        guard b.count >= 4 else { throw GantryError.invalidFile(path: path, problem: "truncated: \(b.count) bytes, too short for a NIfTI header") }
        var values: [Float] = []
        let sizeofHdr = b.loadUnaligned(fromByteOffset: 0, as: Int32.self)
        guard let (version, swapped) = headerKind(sizeofHdr) else {
            throw GantryError.invalidFile(path: path, problem: "not a NIfTI file (header size field is \(sizeofHdr), expected 348 or 540)")
        }
        let hdrSize = version == 1 ? 348 : 540
        guard b.count >= hdrSize else { throw GantryError.invalidFile(path: path, problem: "truncated: \(b.count) bytes, header needs \(hdrSize)") }
        // Magic: "n+1\0" at 344 (NIfTI-1 single file) or "n+2\0" at 4 (NIfTI-2).
        let magicAt = version == 1 ? 344 : 4
        let magic = (0..<3).map { Character(UnicodeScalar(b[magicAt + $0])) }
        if version == 1 && magic == ["n", "i", "1"] || version == 2 && magic == ["n", "i", "2"] {
            throw GantryError.unsupported(path: path, problem: "two-file NIfTI (.hdr/.img) is not supported; convert it to .nii")
        }
        guard magic == ["n", "+", version == 1 ? "1" : "2"], b[magicAt + 3] == 0 else {
            throw GantryError.invalidFile(path: path, problem: "bad NIfTI magic '\(String(magic))' (not a NIfTI-\(version) single file; Analyze 7.5 is not supported)")
        }
        let layout = try precheck(b, version: version, swapped: swapped, path: path)
        nifti_set_debug_level(0)
        let nimOpt: UnsafeMutablePointer<nifti_image>?
        let raw: RawGeometry
        if version == 1 {
            var h = nifti_1_header()
            withUnsafeMutableBytes(of: &h) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<348])) }
            nimOpt = path.withCString { nifti_convert_n1hdr2nim(h, $0) }
            if swapped { nifti_swap_as_nifti1(&h) }
            raw = RawGeometry(h)
        } else {
            var h = nifti_2_header()
            withUnsafeMutableBytes(of: &h) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<540])) }
            nimOpt = path.withCString { nifti_convert_n2hdr2nim(h, $0) }
            if swapped { nifti_swap_as_nifti2(&h) }
            raw = RawGeometry(h)
        }
        guard let nim = nimOpt else { throw GantryError.invalidFile(path: path, problem: "invalid NIfTI header (dimensions or fields rejected by libnifti)") }
        defer { nifti_image_free(nim) }
        let n = nim.pointee

        // Dimensions: 1…7, each positive, product without overflow.
        let ndim = Int(gantry_nim_dim(nim, 0))
        guard (1...7).contains(ndim) else { throw GantryError.invalidFile(path: path, problem: "dim[0] = \(ndim), must be 1…7") }
        var shape = [Int]()
        for i in 1...ndim {
            let d = gantry_nim_dim(nim, Int32(i))
            guard d > 0 else { throw GantryError.invalidFile(path: path, problem: "dimension \(i) is \(d), must be positive") }
            shape.append(Int(d))
        }
        // Trailing singleton dims beyond 3 carry nothing (e.g. 4D with nt = 1 is still 4D: keep).
        var voxels = 1
        for d in shape {
            let (p, o) = voxels.multipliedReportingOverflow(by: d)
            guard !o, p < (1 << 40) else { throw GantryError.invalidFile(path: path, problem: "dimensions \(shape) overflow") }
            voxels = p
        }
        guard let type = NIfTIDataType(rawValue: Int32(n.datatype)) else {
            throw GantryError.unsupported(path: path, problem: "datatype \(NIfTIDataType.describe(code: Int32(n.datatype)))")
        }
        let offset = layout.offset
        let need = voxels * type.size
        guard offset <= fileSize else { throw GantryError.invalidFile(path: path, problem: "vox_offset \(offset) is past the end of the data (\(fileSize) bytes)") }
        guard fileSize - offset >= need else {
            throw GantryError.invalidFile(path: path, problem: "truncated: \(shape) \(type.name) needs \(need) bytes of voxel data at offset \(offset), file has \(fileSize - offset)")
        }
        if dataAt > 0 && offset != dataAt { return nil }  // a split read that guessed the offset wrong

        var header = StoredHeader()
        header.version = version
        header.datatype = type.rawValue
        header.sclSlope = n.scl_slope
        header.sclInter = n.scl_inter
        header.qformCode = Int32(n.qform_code)
        header.quaternion = raw.quaternion + [n.qfac]
        header.sformCode = Int32(n.sform_code)
        header.pixdim = raw.pixdim
        header.xyzUnits = Int32(n.xyz_units)
        header.timeUnits = Int32(n.time_units)
        header.descrip = String(cString: gantry_nim_descrip(nim))
        header.intentCode = Int32(n.intent_code)
        var q = nim.pointee.qto_xyz, s = nim.pointee.sto_xyz
        let qform = matrix(&q), sform = matrix(&s)  // as libnifti decodes them (valid per the codes)
        header.sform = raw.srow
        let spatial = (0..<3).map { $0 < shape.count ? shape[$0] : 1 }
        if header.sformCode > 0 {
            header.affineAtRead = sform
        } else if header.qformCode > 0 {
            header.affineAtRead = qform
        } else {
            header.affineAtRead = fallbackAffine(shape: spatial, pixdim: header.pixdim)
        }
        let extra = shape.count > 3 ? (3..<shape.count).map { header.pixdim[$0 + 1] } : []

        var inPlace = 0
        if withData {
            let floats = type == .complex64 ? 2 * voxels : voxels
            let slope = n.scl_slope
            let scale: (Double, Double)? = (slope != 0 && slope.isFinite && (slope != 1 || n.scl_inter != 0) && type != .complex64)
                ? (slope, n.scl_inter.isFinite ? n.scl_inter : 0) : nil
            if (type == .float32 || type == .complex64) && !swapped && scale == nil {
                inPlace = floats  // already at the front of a split read's storage, else moved there by `load`
            } else {
                values = [Float](unsafeUninitializedCapacity: floats) { buf, count in
                    MemoryPolicy.adviseHugePages(UnsafeMutableRawPointer(buf.baseAddress!), bytes: floats * 4)
                    VoxelCodec.decode(data + (offset - dataAt), count: floats, type: type, swap: swapped, scale: scale, into: buf.baseAddress!)
                    count = floats
                }
            }
        }
        return Loaded(shape: shape, type: type, header: header, extraSpacing: extra, values: values, inPlaceFloats: inPlace, offset: offset)
    }

    /// Checks dims and datatype from the raw header first, so the error says what is wrong (libnifti
    /// only reports that it rejected the header).
    /// Bytes a single-file NIfTI must have, from its header alone: vox_offset plus the voxel data.
    static func declaredFileSize(_ b: UnsafeRawBufferPointer, path: String) throws -> Int {
        guard b.count >= 4, let (version, swapped) = headerKind(b.loadUnaligned(fromByteOffset: 0, as: Int32.self)) else {
            throw GantryError.invalidFile(path: path, problem: b.count < 348 ? "truncated: \(b.count) bytes, too short for a NIfTI header" : "not a NIfTI file")
        }
        guard b.count >= (version == 1 ? 348 : 540) else { throw GantryError.invalidFile(path: path, problem: "truncated: \(b.count) bytes, too short for a NIfTI-\(version) header") }
        let layout = try precheck(b, version: version, swapped: swapped, path: path)
        return layout.offset + layout.dataBytes
    }

    /// Checks the header fields that size the file before libnifti sees them, and returns where
    /// the voxels start and how many bytes they take. vox_offset must be a whole number from 352
    /// (NIfTI-1, after the 4-byte extension flag) or 544 (NIfTI-2) on; whether the file is long
    /// enough is the caller's check, against the real size.
    @discardableResult
    static func precheck(_ b: UnsafeRawBufferPointer, version: Int, swapped: Bool, path: String) throws -> (offset: Int, dataBytes: Int) {
        func i16(_ at: Int) -> Int { let v = b.loadUnaligned(fromByteOffset: at, as: Int16.self); return Int(swapped ? v.byteSwapped : v) }
        func i64(_ at: Int) -> Int64 { let v = b.loadUnaligned(fromByteOffset: at, as: Int64.self); return swapped ? v.byteSwapped : v }
        let dims: [Int64] = version == 1 ? (0..<8).map { Int64(i16(40 + 2 * $0)) } : (0..<8).map { i64(16 + 8 * $0) }
        let datatype = Int32(version == 1 ? i16(70) : i16(12))
        guard (1...7).contains(dims[0]) else { throw GantryError.invalidFile(path: path, problem: "dim[0] = \(dims[0]), must be 1…7") }
        var voxels: Int64 = 1
        for i in 1...Int(dims[0]) {
            guard dims[i] > 0 else { throw GantryError.invalidFile(path: path, problem: "dimension \(i) is \(dims[i]), must be positive") }
            let (p, o) = voxels.multipliedReportingOverflow(by: dims[i])
            guard !o, p < (1 << 40) else { throw GantryError.invalidFile(path: path, problem: "dimensions \(Array(dims[1...Int(dims[0])])) overflow (more than 2^40 voxels)") }
            voxels = p
        }
        guard let type = NIfTIDataType(rawValue: datatype) else {
            throw GantryError.unsupported(path: path, problem: "datatype \(NIfTIDataType.describe(code: datatype))")
        }
        let offset: Double
        if version == 1 {
            let bits = b.loadUnaligned(fromByteOffset: 108, as: UInt32.self)
            offset = Double(Float(bitPattern: swapped ? bits.byteSwapped : bits))
        } else {
            offset = Double(i64(168))
        }
        let first = version == 1 ? 352 : 544
        guard offset.isFinite, offset == offset.rounded(), offset >= Double(first), offset < Double(1 << 50) else {
            throw GantryError.invalidFile(path: path, problem: "vox_offset \(offset) is invalid (must be a whole number ≥ \(first))")
        }
        return (Int(offset), Int(voxels) * type.size)
    }

    /// nibabel's affine for files with neither qform nor sform: voxel sizes on the diagonal with x
    /// flipped, origin at the centre of the grid.
    static func fallbackAffine(shape: [Int], pixdim: [Double]) -> Affine {
        let z = (1...3).map { pixdim[$0] == 0 ? 1.0 : pixdim[$0] }
        var a = Affine.scaling([-z[0], z[1], z[2]])
        a[0, 3] = Double(shape[0] - 1) / 2 * z[0]
        a[1, 3] = -Double(shape[1] - 1) / 2 * z[1]
        a[2, 3] = -Double(shape[2] - 1) / 2 * z[2]
        return a
    }

    static func matrix(_ m: inout nifti_dmat44) -> Affine {
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<4 { for c in 0..<4 { out[r * 4 + c] = gantry_dmat(&m, Int32(r), Int32(c)) } }
        return Affine(rowMajor: out)
    }

    // MARK: Writing

    /// Writes `volume` to `path` (`.nii` or `.nii.gz`, decided by the name), atomically.
    public static func write(_ volume: Volume, to path: String, options: NIfTIWriteOptions = .init()) throws {
        var type = options.datatype ?? volume.header.flatMap { NIfTIDataType(rawValue: $0.datatype) } ?? .float32
        if type == .complex64 { type = .float32 }
        // Keep the stored scaling only when writing back the same integer type it came with.
        var scale: (Double, Double)? = nil
        if let h = volume.header, type.rawValue == h.datatype, type.isInteger, h.sclSlope != 0, h.sclSlope.isFinite, h.sclSlope != 1 || h.sclInter != 0 {
            scale = (h.sclSlope, h.sclInter)
        }
        // float32 voxels are written straight from the volume's storage; other types are encoded first.
        let encoded = type == .float32 ? nil : try VoxelCodec.encode(volume.data, type: type, scale: scale, path: path)
        try withBytes(encoded, orFloats: volume.data) { payload in
            try write(shape: volume.shape, affine: volume.affine, extraSpacing: volume.extraSpacing, header: volume.header,
                      type: type, scale: scale, payload: payload, to: path, options: options)
        }
    }

    private static func withBytes(_ bytes: [UInt8]?, orFloats floats: [Float], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let bytes { try bytes.withUnsafeBytes(body) } else { try floats.withUnsafeBytes(body) }
    }

    /// Writes a complex volume as complex64.
    public static func write(_ volume: ComplexVolume, to path: String, options: NIfTIWriteOptions = .init()) throws {
        try volume.data.withUnsafeBytes { payload in
            try write(shape: volume.shape, affine: volume.affine, extraSpacing: volume.extraSpacing, header: volume.header,
                      type: .complex64, scale: nil, payload: payload, to: path, options: options)
        }
    }

    static func write(shape: [Int], affine: Affine, extraSpacing: [Double], header: StoredHeader?, type: NIfTIDataType,
                      scale: (Double, Double)?, payload: UnsafeRawBufferPointer, to path: String, options: NIfTIWriteOptions) throws {
        let version = options.version ?? header?.version ?? (shape.contains { $0 > 32767 } ? 2 : 1)
        guard version == 1 || version == 2 else { throw GantryError.invalidArgument("NIfTI version must be 1 or 2") }
        if version == 1, shape.contains(where: { $0 > 32767 }) {
            throw GantryError.invalidArgument("\(path): dimensions \(shape) need NIfTI-2")
        }
        var dims = [Int64](repeating: 1, count: 8)
        dims[0] = Int64(shape.count)
        for (i, d) in shape.enumerated() { dims[i + 1] = Int64(d) }
        nifti_set_debug_level(0)
        guard let nim = dims.withUnsafeBufferPointer({ nifti_make_new_nim($0.baseAddress, Int32(type.rawValue), 0) }) else {
            throw GantryError.writeFailed(path: path, problem: "libnifti could not make a header")
        }
        defer { nifti_image_free(nim) }
        fillGeometry(nim, shape: shape, affine: affine, extraSpacing: extraSpacing, header: header)
        // libnifti writes quatern/srow only for non-zero codes; keep stored values bit-exact regardless.
        let verbatim = header.flatMap { $0.affineAtRead == affine ? RawGeometry($0, extraSpacing: extraSpacing) : nil }
        nim.pointee.scl_slope = scale?.0 ?? 1
        nim.pointee.scl_inter = scale?.1 ?? 0
        gantry_nim_set_descrip(nim, header?.descrip ?? "Gantry")
        nim.pointee.intent_code = options.intent
        nim.pointee.nifti_type = version == 1 ? 1 : 4  // NIFTI_FTYPE_NIFTI1_1 / NIFTI2_1
        let hdrBytes: [UInt8]
        if version == 1 {
            nim.pointee.iname_offset = 352
            var h = nifti_1_header()
            guard nifti_convert_nim2n1hdr(nim, &h) == 0 else { throw GantryError.writeFailed(path: path, problem: "libnifti rejected the header") }
            if let g = verbatim { g.store(into: &h) }
            hdrBytes = withUnsafeBytes(of: &h) { Array($0) } + [0, 0, 0, 0]
        } else {
            nim.pointee.iname_offset = 544
            var h = nifti_2_header()
            guard nifti_convert_nim2n2hdr(nim, &h) == 0 else { throw GantryError.writeFailed(path: path, problem: "libnifti rejected the header") }
            if let g = verbatim { g.store(into: &h) }
            hdrBytes = withUnsafeBytes(of: &h) { Array($0) } + [0, 0, 0, 0]
        }
        try hdrBytes.withUnsafeBytes { h in
            if path.hasSuffix(".gz") {
                try FileIO.writeAtomically(path, bytes: try Gzip.compress(parts: [h, payload], level: options.gzipLevel))
            } else {
                try FileIO.writeAtomically(path, parts: [h, payload])
            }
        }
    }

    /// Sets qform, sform, pixdim and units on `nim`: the stored header verbatim while the affine is the
    /// one read, otherwise both forms derived from `affine` (keeping the original codes).
    static func fillGeometry(_ nim: UnsafeMutablePointer<nifti_image>, shape: [Int], affine: Affine, extraSpacing: [Double], header: StoredHeader?) {
        if let h = header, h.affineAtRead == affine {
            nim.pointee.qform_code = Int32(h.qformCode)
            nim.pointee.sform_code = Int32(h.sformCode)
            nim.pointee.quatern_b = h.quaternion[0]; nim.pointee.quatern_c = h.quaternion[1]; nim.pointee.quatern_d = h.quaternion[2]
            nim.pointee.qoffset_x = h.quaternion[3]; nim.pointee.qoffset_y = h.quaternion[4]; nim.pointee.qoffset_z = h.quaternion[5]
            nim.pointee.qfac = h.quaternion[6]
            for r in 0..<4 { for c in 0..<4 { gantry_set_dmat(&nim.pointee.sto_xyz, Int32(r), Int32(c), h.sform[r, c]) } }
            for i in 0..<8 { gantry_nim_set_pixdim(nim, Int32(i), h.pixdim[i]) }
            for i in 0..<extraSpacing.count where i + 4 < 8 { gantry_nim_set_pixdim(nim, Int32(i + 4), extraSpacing[i]) }
            nim.pointee.xyz_units = Int32(h.xyzUnits)
            nim.pointee.time_units = Int32(h.timeUnits)
        } else {
            // New geometry: sform = affine exactly; qform = its rigid part + voxel sizes (exact unless
            // the affine has shear, where the sform, preferred by every reader, is the truth).
            let sCode = header.map { $0.sformCode > 0 ? $0.sformCode : ($0.qformCode > 0 ? $0.qformCode : 2) } ?? 2
            // A qform the original left unset (code 0 beside a set sform) stays unset.
            let qCode = header.map { $0.qformCode > 0 || $0.sformCode > 0 ? $0.qformCode : sCode } ?? sCode
            var d = nifti_dmat44()
            for r in 0..<4 { for c in 0..<4 { gantry_set_dmat(&d, Int32(r), Int32(c), affine[r, c]) } }
            nim.pointee.sto_xyz = d
            var qb = 0.0, qc = 0.0, qd = 0.0, qx = 0.0, qy = 0.0, qz = 0.0, dx = 0.0, dy = 0.0, dz = 0.0, qfac = 0.0
            nifti_dmat44_to_quatern(d, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
            nim.pointee.quatern_b = qb; nim.pointee.quatern_c = qc; nim.pointee.quatern_d = qd
            nim.pointee.qoffset_x = qx; nim.pointee.qoffset_y = qy; nim.pointee.qoffset_z = qz
            nim.pointee.qfac = qfac
            nim.pointee.qform_code = Int32(qCode)
            nim.pointee.sform_code = Int32(sCode)
            gantry_nim_set_pixdim(nim, 0, qfac)
            gantry_nim_set_pixdim(nim, 1, dx); gantry_nim_set_pixdim(nim, 2, dy); gantry_nim_set_pixdim(nim, 3, dz)
            for i in 0..<extraSpacing.count where i + 4 < 8 { gantry_nim_set_pixdim(nim, Int32(i + 4), extraSpacing[i]) }
            nim.pointee.xyz_units = 2  // mm
            nim.pointee.time_units = header.map { Int32($0.timeUnits) } ?? (shape.count > 3 ? 8 : 0)
        }
        // nifti_convert_nim2n*hdr takes the grid spacings from dx…dw, so mirror pixdim there.
        let p = (0..<8).map { gantry_nim_pixdim(nim, Int32($0)) }
        nim.pointee.dx = p[1]; nim.pointee.dy = p[2]; nim.pointee.dz = p[3]; nim.pointee.dt = p[4]
        nim.pointee.du = p[5]; nim.pointee.dv = p[6]; nim.pointee.dw = p[7]
    }
}
