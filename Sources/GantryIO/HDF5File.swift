import CHDF5
import Foundation
import GantryCore

/// An attribute value Gantry reads and writes.
public enum HDF5Value: Equatable, Sendable, CustomStringConvertible {
    case double(Double)
    case int(Int)
    case string(String)
    case doubles([Double])

    public var description: String {
        switch self {
        case .double(let d): return "\(d)"
        case .int(let i): return "\(i)"
        case .string(let s): return "\"\(s)\""
        case .doubles(let a): return a.count > 8 ? "[\(a.prefix(8).map { "\($0)" }.joined(separator: ", ")), …] (\(a.count))" : "\(a)"
        }
    }

    public var asDouble: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .doubles(let a) where a.count == 1: return a[0]
        default: return nil
        }
    }
}

/// One object found when walking a file.
public struct HDF5Node: Sendable {
    public var path: String
    public var isGroup: Bool
    public var shape: [Int]
    /// "float32", "complex64", "int16", "string", …
    public var type: String
    public var attributes: [(String, HDF5Value?)]
}

/// An HDF5 file through libhdf5 (serial). Arrays use HDF5/NumPy order (C order, last index fastest),
/// so a dataset written here reads in h5py with the same shape. Complex numbers are the compound
/// `{r: float32, i: float32}` that h5py maps to `complex64` (fastMRI's k-space layout).
///
/// libhdf5's own error printing is silenced; failures become one-line `GantryError`s.
///
/// libhdf5 1.10 trusts the sizes in an object header when it loads one (fuzzing found a damaged
/// length becoming a multi-exabyte allocation in `H5Fopen`, and an unterminated attribute name
/// read past its buffer): every object header a read touches is first walked from the file's bytes
/// (`HDF5ObjectHeader.validate`) and a damaged one is refused before libhdf5 loads it. Group
/// structures (B-trees, heaps) are still libhdf5's alone.
public final class HDF5File {
    public let path: String
    let id: hid_t
    /// The file's structures read from its bytes (nil for a file being written).
    private let structure: HDF5ObjectHeader?
    /// Object headers already walked (a tree or an attribute list visits each several times).
    private var checkedHeaders = Set<UInt64>()

    /// Opens an existing file read-only.
    public init(readingFrom path: String) throws {
        try FileIO.requireFile(path)
        gantry_H5_silence_errors()
        guard H5Fis_hdf5(path) > 0 else { throw GantryError.invalidFile(path: path, problem: "not an HDF5 file") }
        let structure = try HDF5ObjectHeader(path: path)
        try structure.validate(objectAt: structure.rootAddress)
        // Semi close: a damaged object that libhdf5 failed to close stays open (a leak for this
        // process) rather than being closed again by H5Fclose, which crashed on such files.
        let access = gantry_H5P_semi_close_access()
        defer { if access >= 0 { H5Pclose(access) } }
        let f = H5Fopen(path, gantry_H5F_ACC_RDONLY(), access >= 0 ? access : gantry_H5P_DEFAULT())
        guard f >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot open HDF5 file") }
        self.path = path
        self.id = f
        self.structure = structure
    }

    private init(creating tmp: String, reportAs path: String) throws {
        gantry_H5_silence_errors()
        let f = H5Fcreate(tmp, gantry_H5F_ACC_EXCL(), gantry_H5P_DEFAULT(), gantry_H5P_DEFAULT())
        guard f >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot create HDF5 file") }
        self.path = path
        self.id = f
        self.structure = nil
    }

    deinit { H5Fclose(id) }

    /// Creates `path` atomically: `body` fills a file under a temporary name, which is renamed into
    /// place only when `body` returns.
    public static func create(_ path: String, _ body: (HDF5File) throws -> Void) throws {
        try FileIO.withAtomicPath(path) { tmp in
            let f = try HDF5File(creating: tmp, reportAs: path)
            try body(f)
            guard H5Fflush(f.id, H5F_SCOPE_GLOBAL) >= 0 else { throw GantryError.writeFailed(path: path, problem: "flush failed") }
        }
    }

    // MARK: Walking

    /// Whether a dataset or group exists at `name`.
    public func contains(_ name: String) -> Bool {
        // Check each path component so intermediate missing groups do not raise.
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, gantry_H5P_DEFAULT()) <= 0 { return false }
        }
        return true
    }

    /// Every group and dataset below the root, depth first, with shapes, types and attributes.
    /// An object whose header is damaged is listed with type "damaged object header" and not opened.
    public func tree() -> [HDF5Node] {
        var nodes = [HDF5Node(path: "/", isGroup: true, shape: [], type: "group", attributes: attributes(of: "/"))]
        walk("", into: &nodes, depth: 0)
        return nodes
    }

    /// Depth first below `group` ("" for the root), each child's header checked before it is opened.
    private func walk(_ group: String, into nodes: inout [HDF5Node], depth: Int) {
        guard depth < 64 else { return }
        final class Box { var names: [String] = [] }
        let box = Box()
        let op: H5L_iterate_t = { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Box>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }
        let g = H5Oopen(id, group.isEmpty ? "/" : group, gantry_H5P_DEFAULT())
        guard g >= 0 else { return }
        var idx: hsize_t = 0
        _ = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, op, Unmanaged.passUnretained(box).toOpaque())
        H5Oclose(g)
        for child in box.names {
            let n = group.isEmpty ? child : group + "/" + child
            guard (try? checkHeader(of: n)) != nil else {
                nodes.append(HDF5Node(path: "/" + n, isGroup: false, shape: [], type: "damaged object header", attributes: []))
                continue
            }
            let o = H5Oopen(id, n, gantry_H5P_DEFAULT())
            guard o >= 0 else { continue }
            let isGroup = H5Iget_type(o) == H5I_GROUP
            H5Oclose(o)
            var shape: [Int] = [], type = "group"
            if !isGroup, let info = try? datasetInfo(n) { shape = info.shape; type = info.type }
            nodes.append(HDF5Node(path: "/" + n, isGroup: isGroup, shape: shape, type: type, attributes: attributes(of: n)))
            if isGroup { walk(n, into: &nodes, depth: depth + 1) }
        }
    }

    /// Shape and element type name of a dataset.
    public func datasetInfo(_ name: String) throws -> (shape: [Int], type: String) {
        try withDataset(name) { d in
            let t = H5Dget_type(d); defer { H5Tclose(t) }
            return (try shape(of: d, name: name), Self.typeName(t))
        }
    }

    // MARK: Reading datasets

    /// A numeric dataset converted to Float (HDF5 converts integer and double data on read).
    public func readFloats(_ name: String) throws -> (shape: [Int], data: [Float]) {
        try withDataset(name) { d in
            let t = H5Dget_type(d); defer { H5Tclose(t) }
            let cls = H5Tget_class(t)
            if cls == H5T_ENUM && H5Tget_size(t) == 1 {
                // h5py's bool: an 8-bit enum {FALSE: 0, TRUE: 1}, read as its bytes.
                let s = try shape(of: d, name: name)
                try checkStored(d, name: name, elements: s.reduce(1, *), elementBytes: 1)
                var bytes = [Int8](repeating: 0, count: s.reduce(1, *))
                guard H5Dread(d, t, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), &bytes) >= 0 else {
                    throw GantryError.invalidFile(path: path, problem: "cannot read dataset '\(name)'")
                }
                return (s, bytes.map { $0 != 0 ? 1 : 0 })
            }
            guard cls == H5T_FLOAT || cls == H5T_INTEGER else {
                throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(Self.typeName(t)), expected a real number array")
            }
            let s = try shape(of: d, name: name)
            try checkStored(d, name: name, elements: s.reduce(1, *), elementBytes: H5Tget_size(t))
            var out = [Float](repeating: 0, count: s.reduce(1, *))
            let r = out.withUnsafeMutableBytes { H5Dread(d, gantry_H5T_NATIVE_FLOAT(), gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), $0.baseAddress) }
            guard r >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read dataset '\(name)'") }
            return (s, out)
        }
    }

    /// A complex dataset (compound of two floats, as h5py's complex64/complex128) as interleaved
    /// Float pairs.
    public func readComplex(_ name: String) throws -> (shape: [Int], data: [Float]) {
        try withDataset(name) { d in
            let t = H5Dget_type(d); defer { H5Tclose(t) }
            guard H5Tget_class(t) == H5T_COMPOUND, H5Tget_nmembers(t) == 2 else {
                throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(Self.typeName(t)), expected complex")
            }
            let s = try shape(of: d, name: name)
            try checkStored(d, name: name, elements: s.reduce(1, *), elementBytes: H5Tget_size(t))
            let mem = Self.complexType(); defer { H5Tclose(mem) }
            var out = [Float](repeating: 0, count: 2 * s.reduce(1, *))
            let r = out.withUnsafeMutableBytes { H5Dread(d, mem, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), $0.baseAddress) }
            guard r >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read complex dataset '\(name)' (members must be named r and i)") }
            return (s, out)
        }
    }

    /// A scalar string dataset (fixed or variable length, as h5py writes `bytes` or `str`), e.g.
    /// fastMRI's `ismrmrd_header`.
    public func readString(_ name: String) throws -> String {
        try withDataset(name) { d in
            let t = H5Dget_type(d); defer { H5Tclose(t) }
            guard H5Tget_class(t) == H5T_STRING else {
                throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(Self.typeName(t)), expected a string")
            }
            let space = H5Dget_space(d); defer { H5Sclose(space) }
            guard H5Sget_simple_extent_npoints(space) == 1 else { throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' holds more than one string") }
            if H5Tis_variable_str(t) > 0 {
                try checkStoredLength(ofStringDataset: d, name: name)
                var p: UnsafeMutablePointer<CChar>? = nil
                guard H5Dread(d, t, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), &p) >= 0 else {
                    throw GantryError.invalidFile(path: path, problem: "cannot read string dataset '\(name)'")
                }
                defer { if let p { H5free_memory(p) } }
                return p.map { String(cString: $0) } ?? ""
            }
            let size = H5Tget_size(t)
            guard size <= 64 << 20 else { throw GantryError.invalidFile(path: path, problem: "string dataset '\(name)' of \(size) bytes") }
            var buf = [UInt8](repeating: 0, count: size + 1)
            guard H5Dread(d, t, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), &buf) >= 0 else {
                throw GantryError.invalidFile(path: path, problem: "cannot read string dataset '\(name)'")
            }
            return String(decoding: buf.prefix(size).prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Writes a scalar variable-length UTF-8 string dataset.
    public func writeString(_ name: String, _ value: String) throws {
        let t = H5Tcopy(gantry_H5T_C_S1()); defer { H5Tclose(t) }
        H5Tset_size(t, gantry_H5T_VARIABLE())
        H5Tset_cset(t, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR); defer { H5Sclose(space) }
        // No modification time: the same content gives the same bytes.
        let dcpl = H5Pcreate(gantry_H5P_DATASET_CREATE()); defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)
        let d = H5Dcreate2(id, name, t, space, gantry_H5P_DEFAULT(), dcpl, gantry_H5P_DEFAULT())
        guard d >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot create dataset '\(name)'") }
        defer { H5Dclose(d) }
        let ok = value.withCString { c -> Bool in
            var p: UnsafePointer<CChar>? = c
            return H5Dwrite(d, t, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), &p) >= 0
        }
        guard ok else { throw GantryError.writeFailed(path: path, problem: "cannot write dataset '\(name)'") }
    }

    // MARK: Writing datasets

    /// Writes a float32 dataset of `shape` (C order). Intermediate groups are created.
    public func writeFloats(_ name: String, shape: [Int], data: [Float]) throws {
        try write(name, shape: shape, count: data.count, fileType: gantry_H5T_NATIVE_FLOAT(), memType: gantry_H5T_NATIVE_FLOAT()) { buf in
            data.withUnsafeBytes { buf($0.baseAddress) }
        }
    }

    /// Writes real values stored as `type` (libhdf5 converts; integer types need integral values in
    /// range, which the caller checks), gzip-compressed in chunks of at most 1 MiB when `compressed`.
    public func writeFloats(_ name: String, shape: [Int], data: [Float], storedAs type: NIfTIDataType, compressed: Bool) throws {
        let fileType: hid_t
        switch type {
        case .uint8: fileType = gantry_H5T_NATIVE_UINT8()
        case .int8: fileType = gantry_H5T_NATIVE_INT8()
        case .int16: fileType = gantry_H5T_NATIVE_INT16()
        case .uint16: fileType = gantry_H5T_NATIVE_UINT16()
        case .int32: fileType = gantry_H5T_NATIVE_INT32()
        case .uint32: fileType = gantry_H5T_NATIVE_UINT32()
        case .int64: fileType = gantry_H5T_NATIVE_INT64()
        case .uint64: fileType = gantry_H5T_NATIVE_UINT64()
        case .float64: fileType = gantry_H5T_NATIVE_DOUBLE()
        default: fileType = gantry_H5T_NATIVE_FLOAT()
        }
        var chunk: [Int]? = nil
        if compressed && !shape.isEmpty {
            // Whole rows of the fastest axes, as many as fit in 1 MiB.
            var c = shape.map { _ in 1 }, bytes = type.size
            for axis in shape.indices.reversed() {
                let take = max(1, min(shape[axis], (1 << 20) / max(bytes, 1)))
                c[axis] = take
                bytes *= take
                if take < shape[axis] { break }
            }
            chunk = c
        }
        try write(name, shape: shape, count: data.count, fileType: fileType, memType: gantry_H5T_NATIVE_FLOAT(), chunk: chunk) { buf in
            data.withUnsafeBytes { buf($0.baseAddress) }
        }
    }

    /// Writes an unsigned 8-bit dataset (label maps, masks).
    public func writeBytes(_ name: String, shape: [Int], data: [UInt8]) throws {
        try write(name, shape: shape, count: data.count, fileType: gantry_H5T_NATIVE_UINT8(), memType: gantry_H5T_NATIVE_UINT8()) { buf in
            data.withUnsafeBytes { buf($0.baseAddress) }
        }
    }

    /// Writes a complex64 dataset from interleaved Float pairs (`data.count == 2 · ∏shape`).
    public func writeComplex(_ name: String, shape: [Int], data: [Float]) throws {
        let t = Self.complexType(); defer { H5Tclose(t) }
        try write(name, shape: shape, count: data.count / 2, fileType: t, memType: t) { buf in
            data.withUnsafeBytes { buf($0.baseAddress) }
        }
    }

    private func write(_ name: String, shape: [Int], count: Int, fileType: hid_t, memType: hid_t, chunk: [Int]? = nil, _ withBuffer: ((UnsafeRawPointer?) -> herr_t) -> herr_t) throws {
        guard shape.reduce(1, *) == count else {
            throw GantryError.invalidArgument("\(path): dataset '\(name)' shape \(shape) does not match \(count) elements")
        }
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil); defer { H5Sclose(space) }
        let lcpl = H5Pcreate(gantry_H5P_LINK_CREATE()); defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        // No modification times in object headers: the same data give the same bytes (determinism).
        let dcpl = H5Pcreate(gantry_H5P_DATASET_CREATE()); defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)
        if let chunk, count > 0 {
            var c = chunk.map { hsize_t($0) }
            H5Pset_chunk(dcpl, Int32(c.count), &c)
            H5Pset_deflate(dcpl, 1)
        }
        let d = H5Dcreate2(id, name, fileType, space, lcpl, dcpl, gantry_H5P_DEFAULT())
        guard d >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot create dataset '\(name)'") }
        defer { H5Dclose(d) }
        let r = withBuffer { H5Dwrite(d, memType, gantry_H5S_ALL(), gantry_H5S_ALL(), gantry_H5P_DEFAULT(), $0) }
        guard r >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot write dataset '\(name)'") }
    }

    // MARK: Attributes

    /// Names and values of the attributes on `object` ("/" for the file). Values of types Gantry does
    /// not decode are nil.
    public func attributes(of object: String = "/") -> [(String, HDF5Value?)] {
        guard (try? checkHeader(of: object)) != nil else { return [] }
        let o = H5Oopen(id, object, gantry_H5P_DEFAULT())
        guard o >= 0 else { return [] }
        defer { H5Oclose(o) }
        final class Box { var names: [String] = [] }
        let box = Box()
        let op: H5A_operator2_t = { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Box>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }
        var idx: hsize_t = 0
        _ = H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, op, Unmanaged.passUnretained(box).toOpaque())
        return box.names.map { ($0, try? attribute($0, of: object)) }
    }

    /// One attribute's value.
    public func attribute(_ name: String, of object: String = "/") throws -> HDF5Value {
        try checkHeader(of: object)
        guard H5Aexists_by_name(id, object, name, gantry_H5P_DEFAULT()) > 0 else {
            throw GantryError.missingDataset(path: path, name: object == "/" ? name : "\(object)@\(name)")
        }
        let a = H5Aopen_by_name(id, object, name, gantry_H5P_DEFAULT(), gantry_H5P_DEFAULT())
        guard a >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot open attribute '\(name)'") }
        defer { H5Aclose(a) }
        let t = H5Aget_type(a); defer { H5Tclose(t) }
        let space = H5Aget_space(a); defer { H5Sclose(space) }
        let n = Int(max(1, H5Sget_simple_extent_npoints(space)))
        switch H5Tget_class(t) {
        case H5T_STRING:
            if H5Tis_variable_str(t) > 0 {
                try checkStoredLengths(what: "attribute '\(name)'", count: n) { raw in
                    guard let address = try headerAddress(of: object) else { return .elsewhere }
                    return try raw.attribute(name, objectAt: address)
                }
                let mem = H5Tcopy(gantry_H5T_C_S1()); defer { H5Tclose(mem) }
                H5Tset_size(mem, gantry_H5T_VARIABLE())
                H5Tset_cset(mem, H5Tget_cset(t))
                var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
                guard H5Aread(a, mem, &ptrs) >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read attribute '\(name)'") }
                let s = ptrs.first.flatMap { $0 }.map { String(cString: $0) } ?? ""
                for p in ptrs { if let p { H5free_memory(p) } }
                return .string(s)
            }
            let size = H5Tget_size(t)
            var buf = [UInt8](repeating: 0, count: size * n + 1)
            guard H5Aread(a, t, &buf) >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read attribute '\(name)'") }
            let bytes = buf.prefix(size).prefix { $0 != 0 }
            return .string(String(decoding: bytes, as: UTF8.self))
        case H5T_INTEGER:
            var v = [Int64](repeating: 0, count: n)
            guard H5Aread(a, gantry_H5T_NATIVE_INT64(), &v) >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read attribute '\(name)'") }
            return n == 1 ? .int(Int(v[0])) : .doubles(v.map { Double($0) })
        case H5T_FLOAT:
            var v = [Double](repeating: 0, count: n)
            guard H5Aread(a, gantry_H5T_NATIVE_DOUBLE(), &v) >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read attribute '\(name)'") }
            return n == 1 && H5Sget_simple_extent_ndims(space) == 0 ? .double(v[0]) : .doubles(v)
        default:
            throw GantryError.unsupported(path: path, problem: "attribute '\(name)' has type \(Self.typeName(t))")
        }
    }

    /// Sets an attribute on `object` ("/" for the file); strings are variable-length UTF-8 as h5py writes.
    public func setAttribute(_ name: String, _ value: HDF5Value, on object: String = "/") throws {
        let o = H5Oopen(id, object, gantry_H5P_DEFAULT())
        guard o >= 0 else { throw GantryError.missingDataset(path: path, name: object) }
        defer { H5Oclose(o) }
        if H5Aexists(o, name) > 0 { H5Adelete(o, name) }
        func make(_ type: hid_t, _ dims: [Int]?, _ bytes: UnsafeRawPointer) throws {
            let space: hid_t
            if let dims {
                var d = dims.map { hsize_t($0) }
                space = H5Screate_simple(Int32(d.count), &d, nil)
            } else {
                space = H5Screate(H5S_SCALAR)
            }
            defer { H5Sclose(space) }
            let a = H5Acreate2(o, name, type, space, gantry_H5P_DEFAULT(), gantry_H5P_DEFAULT())
            guard a >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot create attribute '\(name)'") }
            defer { H5Aclose(a) }
            guard H5Awrite(a, type, bytes) >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot write attribute '\(name)'") }
        }
        switch value {
        case .double(var d): try make(gantry_H5T_NATIVE_DOUBLE(), nil, &d)
        case .int(let i): var v = Int64(i); try make(gantry_H5T_NATIVE_INT64(), nil, &v)
        case .doubles(let a): try a.withUnsafeBytes { try make(gantry_H5T_NATIVE_DOUBLE(), [a.count], $0.baseAddress!) }
        case .string(let s):
            let t = H5Tcopy(gantry_H5T_C_S1()); defer { H5Tclose(t) }
            H5Tset_size(t, gantry_H5T_VARIABLE())
            H5Tset_cset(t, H5T_CSET_UTF8)
            try s.withCString { c in
                var p: UnsafePointer<CChar>? = c
                try make(t, nil, &p)
            }
        }
    }

    // MARK: Helpers

    /// libhdf5 allocates a variable-length value's stored length inside `H5Aread`/`H5Dread`, before
    /// any check; the stored elements are read from the file first (`HDF5ObjectHeader`) and a length
    /// the file cannot hold is refused. A value stored where Gantry cannot read it first (dense
    /// attribute storage, a chunked layout) is not read at all.
    func checkStoredLengths(what: String, count: Int, _ find: (HDF5ObjectHeader) throws -> HDF5ObjectHeader.Stored) throws {
        let raw = try bytesStructure()
        guard case .value(let type, let data) = try find(raw) else {
            throw GantryError.unsupported(path: path, problem: "\(what) is variable-length and stored where its length cannot be checked before reading (dense attribute storage, a shared datatype or a chunked layout)")
        }
        _ = try raw.variableLengthSizes(type: type, data: data, count: count, what: what)
    }

    /// For a dataset read by another library (libismrmrd's `/dataset/xml`): a variable-length
    /// string dataset's stored length is checked as `readString` checks it; other types pass.
    public func checkStoredLength(ofStringDataset name: String) throws {
        try withDataset(name) { d in
            let t = H5Dget_type(d); defer { H5Tclose(t) }
            if H5Tget_class(t) == H5T_STRING, H5Tis_variable_str(t) > 0 { try checkStoredLength(ofStringDataset: d, name: name) }
        }
    }

    private func checkStoredLength(ofStringDataset d: hid_t, name: String) throws {
        let space = H5Dget_space(d); defer { H5Sclose(space) }
        let n = Int(max(1, H5Sget_simple_extent_npoints(space)))
        try checkStoredLengths(what: "string dataset '\(name)'", count: n) { raw in
            guard n <= Int(raw.fileSize) / raw.variableLengthElementSize else {
                throw GantryError.invalidFile(path: path, problem: "string dataset '\(name)' claims \(n) elements")
            }
            return try raw.datasetValue(objectAt: objectAddress(d), bytes: n * raw.variableLengthElementSize)
        }
    }

    /// The file's structures read from its bytes: the ones read at open, or (a file being written)
    /// read now.
    private func bytesStructure() throws -> HDF5ObjectHeader {
        try structure ?? HDF5ObjectHeader(path: path)
    }

    /// The file address of the header of the group or dataset at `name`, from the link that names it
    /// (libhdf5 does not load the header for this); nil for soft and external links.
    func headerAddress(of name: String) throws -> UInt64? {
        let trimmed = name.split(separator: "/").joined(separator: "/")
        if trimmed.isEmpty { return try bytesStructure().rootAddress }
        var info = H5L_info_t()
        guard H5Lget_info(id, trimmed, &info, gantry_H5P_DEFAULT()) >= 0 else { throw GantryError.missingDataset(path: path, name: name) }
        return info.type == H5L_TYPE_HARD ? UInt64(info.u.address) : nil
    }

    /// Walks the headers of `name` and of the groups on its way from the file's bytes before libhdf5
    /// loads them. A no-op for a file being written.
    private func checkHeader(of name: String) throws {
        guard let structure else { return }
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + part
            if let address = try headerAddress(of: prefix), !checkedHeaders.contains(address) {
                try structure.validate(objectAt: address)
                checkedHeaders.insert(address)
            }
        }
    }

    private func objectAddress(_ object: hid_t) throws -> UInt64 {
        var info = H5O_info_t()
        guard H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC)) >= 0 else { throw GantryError.invalidFile(path: path, problem: "cannot read an object's header address") }
        return UInt64(info.addr)
    }

    private func withDataset<T>(_ name: String, _ body: (hid_t) throws -> T) throws -> T {
        guard contains(name) else { throw GantryError.missingDataset(path: path, name: name) }
        try checkHeader(of: name)
        let d = H5Dopen2(id, name, gantry_H5P_DEFAULT())
        guard d >= 0 else { throw GantryError.invalidFile(path: path, problem: "'\(name)' is not a dataset") }
        defer { H5Dclose(d) }
        return try body(d)
    }

    private func shape(of d: hid_t, name: String) throws -> [Int] {
        let space = H5Dget_space(d); defer { H5Sclose(space) }
        let nd = Int(H5Sget_simple_extent_ndims(space))
        guard nd >= 0 else { throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' has no simple shape") }
        var dims = [hsize_t](repeating: 0, count: max(nd, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let s = dims.prefix(nd).map { Int(clamping: $0) }
        guard s.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) < (1 << 40) else {
            throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' shape \(s) is too large")
        }
        return s
    }

    /// Largest dataset Gantry reads into memory (bytes as stored); larger ones are refused before
    /// any allocation.
    public static let maxDatasetBytes = 16 << 30

    /// Refuses a dataset whose declared size cannot be real data: more than `maxDatasetBytes`, or
    /// more than the bytes the file stores for it could hold even compressed (a chunked dataset
    /// that declares [1000, 64, 640, 640] and was never written stores nothing). Checked before the
    /// read allocates its buffer.
    private func checkStored(_ d: hid_t, name: String, elements: Int, elementBytes: Int) throws {
        let (declared, overflow) = elements.multipliedReportingOverflow(by: max(elementBytes, 1))
        guard !overflow, declared <= Self.maxDatasetBytes else {
            throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' declares \(overflow ? "more than 2^63" : "\(declared)") bytes, more than the \(Self.maxDatasetBytes >> 30) GiB Gantry reads")
        }
        // A damaged file can state any storage size: clamped so the bound below cannot overflow.
        let stored = Int(clamping: min(H5Dget_storage_size(d), UInt64(Int.max / 2048)))
        guard declared <= 1032 * stored + (1 << 20) else {
            throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' declares \(declared) bytes but the file stores only \(stored) for it (never written, or truncated)")
        }
    }

    /// `{r: float32, i: float32}`: h5py's complex64.
    static func complexType() -> hid_t {
        let t = H5Tcreate(H5T_COMPOUND, 8)
        H5Tinsert(t, "r", 0, gantry_H5T_NATIVE_FLOAT())
        H5Tinsert(t, "i", 4, gantry_H5T_NATIVE_FLOAT())
        return t
    }

    static func typeName(_ t: hid_t) -> String {
        let size = H5Tget_size(t)
        switch H5Tget_class(t) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return H5Tget_nmembers(t) == 2 ? "complex\(size * 8)" : "compound"
        case H5T_ENUM: return size == 1 ? "bool" : "enum"
        default: return "other"
        }
    }
}
