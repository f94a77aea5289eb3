import CHDF5
import Foundation
import GantryCore

/// Writes HDF5 files through libhdf5 (serial), in libhdf5's default (earliest) format, which
/// h5py, MATLAB and Gantry's own reader all read. Arrays use HDF5/NumPy order (C order, last index
/// fastest), so a dataset written here reads in h5py with the same shape. Complex numbers are the
/// compound `{r: float32, i: float32}` that h5py maps to `complex64` (fastMRI's k-space layout).
/// Reading is `HDF5File`'s, from the bytes: libhdf5 only ever sees data Gantry wrote.
public final class HDF5Writer {
    public let path: String
    let id: hid_t

    private init(creating tmp: String, reportAs path: String) throws {
        gantry_H5_silence_errors()
        let f = H5Fcreate(tmp, gantry_H5F_ACC_EXCL(), gantry_H5P_DEFAULT(), gantry_H5P_DEFAULT())
        guard f >= 0 else { throw GantryError.writeFailed(path: path, problem: "cannot create HDF5 file") }
        self.path = path
        self.id = f
    }

    deinit { H5Fclose(id) }

    /// Creates `path` atomically: `body` fills a file under a temporary name, which is renamed into
    /// place only when `body` returns.
    public static func create(_ path: String, _ body: (HDF5Writer) throws -> Void) throws {
        try FileIO.withAtomicPath(path) { tmp in
            let f = try HDF5Writer(creating: tmp, reportAs: path)
            try body(f)
            guard H5Fflush(f.id, H5F_SCOPE_GLOBAL) >= 0 else { throw GantryError.writeFailed(path: path, problem: "flush failed") }
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

    /// `{r: float32, i: float32}`: h5py's complex64.
    static func complexType() -> hid_t {
        let t = H5Tcreate(H5T_COMPOUND, 8)
        H5Tinsert(t, "r", 0, gantry_H5T_NATIVE_FLOAT())
        H5Tinsert(t, "i", 4, gantry_H5T_NATIVE_FLOAT())
        return t
    }
}
