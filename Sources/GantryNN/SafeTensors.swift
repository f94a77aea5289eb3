import Foundation
import GantryCore

/// safetensors files (Hugging Face's format, what PyTorch state dicts are exported to): an 8-byte
/// little-endian header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}`
/// and the raw little-endian tensor bytes. Gantry reads F32, F16 and BF16 (into Float32) and
/// writes F32, keeping PyTorch state-dict names, so weights move between the two by name.
public enum SafeTensors {
    public static func read(_ path: String) throws -> [String: Tensor] {
        try readWithMetadata(path).tensors
    }

    /// Tensors and the `__metadata__` string map.
    public static func readWithMetadata(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode(try FileIO.readAll(path), name: path)
    }

    /// Tensors and metadata of a whole file held in memory (`name` only names it in errors).
    public static func decode(_ bytes: [UInt8], name path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw GantryError.invalidFile(path: path, problem: "too short for a safetensors file") }
        let declared = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared >= 2, declared <= UInt64(bytes.count - 8), declared < 100 << 20 else {
            throw GantryError.invalidFile(path: path, problem: "bad safetensors header length \(declared) (file has \(bytes.count) bytes)")
        }
        let n = Int(declared)
        let headerData = Data(bytes[8..<(8 + n)])
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw GantryError.invalidFile(path: path, problem: "safetensors header is not a JSON object")
        }
        let base = 8 + n
        var out: [String: Tensor] = [:]
        var extents: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw GantryError.invalidFile(path: path, problem: "tensor '\(name)' has a malformed header entry")
            }
            let count = try Volume.count(of: shape.isEmpty ? [1] : shape)
            let size: Int
            switch dtype { case "F32": size = 4; case "F16", "BF16": size = 2
            default: throw GantryError.unsupported(path: path, problem: "tensor '\(name)' has dtype \(dtype) (F32, F16, BF16 are read)") }
            let (b, e) = (offsets[0], offsets[1])
            guard b >= 0, e >= b, e - b == count * size, base + e <= bytes.count else {
                throw GantryError.invalidFile(path: path, problem: "tensor '\(name)' data offsets \(offsets) do not fit shape \(shape) \(dtype)")
            }
            extents.append((b, e, name))
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let p = raw.baseAddress! + base + b
                for i in 0..<count {
                    switch dtype {
                    case "F32": values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case "BF16": values[i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    default: values[i] = Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw GantryError.invalidFile(path: path, problem: "tensor '\(name)' holds a non-finite value (\(values[bad]) at element \(bad))")
            }
            let t = Tensor(shape: shape, data: values)
            t.name = name
            out[name] = t
        }
        // As the reference reader: tensors tile the data buffer exactly, without overlaps or holes.
        extents.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var end = 0
        for x in extents {
            guard x.begin == end else {
                throw GantryError.invalidFile(path: path, problem: x.begin < end ? "tensor '\(x.name)' overlaps another tensor's data (offsets \(x.begin)..<\(x.end))"
                                                                    : "a hole in the data buffer before tensor '\(x.name)' (offset \(end)..<\(x.begin))")
            }
            end = x.end
        }
        guard base + end == bytes.count else {
            throw GantryError.invalidFile(path: path, problem: "the tensors cover \(end) bytes of data, the file has \(bytes.count - base)")
        }
        return (out, header["__metadata__"] as? [String: String] ?? [:])
    }

    /// Writes F32 tensors (names sorted, 8-byte aligned data as the reference writer does) atomically.
    public static func write(_ tensors: [String: Tensor], to path: String, metadata: [String: String] = [:]) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            guard let t = tensors[name] else { continue }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
            offset += 4 * t.count
        }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
        bytes += json
        for name in names { tensors[name]?.data.withUnsafeBytes { bytes += $0 } }
        try FileIO.writeAtomically(path, bytes: bytes)
    }
}

/// Where trainers keep their latest epoch beside the best one: `<name>.last.safetensors` next to
/// `<name>.safetensors`. The best-by-validation weights are what ships; the latest is what
/// `--resume` continues from.
public enum TrainingCheckpoint {
    public static func lastPath(_ output: String) -> String {
        (output.hasSuffix(".safetensors") ? String(output.dropLast(12)) : output) + ".last.safetensors"
    }
}
