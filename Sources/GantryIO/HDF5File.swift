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
        case .string(let s): return s.count > 200 ? "\"\(s.prefix(200))…\" (\(s.count) characters)" : "\"\(s)\""
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

/// An HDF5 file read from its bytes by Gantry's own reader (`HDF5Structure`, `HDF5Object`,
/// `HDF5Storage`), not by libhdf5: every size and address in a file Gantry did not write is checked
/// before it is used, so a damaged or hostile file is a one-line error. Arrays come in HDF5/NumPy
/// order (C order, last index fastest), as h5py reads them; numbers are converted to Float, complex
/// compounds (h5py's `r`/`i`, ISMRMRD's `real`/`imag`) to interleaved pairs. What the reader covers
/// is in `HDF5Storage` and `HDF5Object`; writing is `HDF5Writer`'s.
public final class HDF5File {
    public let path: String
    let structure: HDF5Structure
    /// Objects and group links already decoded, by header address (a path lookup visits each
    /// group on its way).
    private var objects: [UInt64: HDF5Object] = [:]
    private var groupLinks: [UInt64: [(name: String, link: HDF5Object.Link)]] = [:]

    /// Opens an existing file read-only; its root group must be readable.
    public init(readingFrom path: String) throws {
        try FileIO.requireFile(path)
        self.path = path
        structure = try HDF5Structure(path: path)
        _ = try links(of: structure.rootAddress)
    }

    private func object(at address: UInt64) throws -> HDF5Object {
        if let o = objects[address] { return o }
        let o = try HDF5Object(at: address, in: structure)
        objects[address] = o
        return o
    }

    private func links(of group: UInt64) throws -> [(name: String, link: HDF5Object.Link)] {
        if let l = groupLinks[group] { return l }
        let l = try object(at: group).links()
        groupLinks[group] = l
        return l
    }

    // MARK: Walking

    /// The header address of the object at `name` ("/" or "" for the root), following hard and soft
    /// links (at most 16 soft links, as libhdf5's default).
    func address(of name: String) throws -> UInt64 {
        var parts = name.split(separator: "/").map(String.init)
        var trail: [UInt64] = [structure.rootAddress]
        var softLinks = 0
        while !parts.isEmpty {
            let part = parts.removeFirst()
            if part == "." { continue }
            guard let link = try links(of: trail.last!).first(where: { $0.name == part })?.link else {
                throw GantryError.missingDataset(path: path, name: name)
            }
            switch link {
            case .hard(let a): trail.append(a)
            case .soft(let target):
                softLinks += 1
                guard softLinks <= 16 else { throw GantryError.invalidFile(path: path, problem: "'\(name)': more than 16 soft links") }
                if target.hasPrefix("/") { trail = [structure.rootAddress] }
                parts = target.split(separator: "/").map(String.init) + parts
            case .external:
                throw GantryError.unsupported(path: path, problem: "'\(name)' is an external link (to another file)")
            }
        }
        return trail.last!
    }

    func object(_ name: String) throws -> HDF5Object {
        try object(at: address(of: name))
    }

    /// Whether a dataset or group exists at `name`.
    public func contains(_ name: String) -> Bool {
        (try? address(of: name)) != nil
    }

    /// Every group and dataset below the root, depth first, with shapes, types and attributes.
    /// An object that cannot be read is listed with the reason as its type.
    public func tree() -> [HDF5Node] {
        var nodes = [HDF5Node(path: "/", isGroup: true, shape: [], type: "group", attributes: attributes(of: "/"))]
        var visited: Set<UInt64> = [structure.rootAddress]
        walk("", address: structure.rootAddress, into: &nodes, visited: &visited, depth: 0)
        return nodes
    }

    private func walk(_ group: String, address: UInt64, into nodes: inout [HDF5Node], visited: inout Set<UInt64>, depth: Int) {
        guard depth < 64, nodes.count < 100_000, let links = try? links(of: address) else { return }
        for (child, link) in links {
            let n = group + "/" + child
            guard case .hard(let a) = link else {
                nodes.append(HDF5Node(path: n, isGroup: false, shape: [], type: link == .external ? "external link" : "soft link", attributes: []))
                continue
            }
            do {
                let o = try object(at: a)
                if o.isDataset {
                    let info = try datasetInfo(o)
                    nodes.append(HDF5Node(path: n, isGroup: false, shape: info.shape, type: info.type, attributes: attributes(of: o)))
                } else {
                    nodes.append(HDF5Node(path: n, isGroup: true, shape: [], type: "group", attributes: attributes(of: o)))
                    if visited.insert(a).inserted { walk(n, address: a, into: &nodes, visited: &visited, depth: depth + 1) }
                }
            } catch {
                nodes.append(HDF5Node(path: n, isGroup: false, shape: [], type: "unreadable: \(Self.reason(error))", attributes: []))
            }
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error as? GantryError {
        case .invalidFile(_, let m)?: return m
        case .unsupported(_, let m)?: return "unsupported: " + m
        default: return "\(error)"
        }
    }

    /// Shape and element type name of a dataset.
    public func datasetInfo(_ name: String) throws -> (shape: [Int], type: String) {
        try datasetInfo(try dataset(name).object)
    }

    private func datasetInfo(_ o: HDF5Object) throws -> (shape: [Int], type: String) {
        (try o.dataspace().dimensions, try o.datatype().name)
    }

    // MARK: Reading datasets

    /// A dataset's header, type and shape.
    struct Dataset {
        var object: HDF5Object
        var type: HDF5Datatype
        var shape: [Int]
        var count: Int
    }

    func dataset(_ name: String) throws -> Dataset {
        let o = try object(name)
        guard o.isDataset else { throw GantryError.invalidFile(path: path, problem: "'\(name)' is not a dataset") }
        let space = try o.dataspace()
        return Dataset(object: o, type: try o.datatype(), shape: space.dimensions, count: space.count)
    }

    /// Largest dataset Gantry reads into memory (bytes as stored); larger ones are refused before
    /// any allocation.
    public static let maxDatasetBytes = 16 << 30

    /// Reads a dataset's stored elements into `T` storage sized for them (`convert` turns the raw
    /// bytes into values unless the stored layout already is `T`'s: `asIs`). Refused before
    /// allocating: more than `maxDatasetBytes`, or more than the bytes the file stores for it could
    /// hold even compressed (a dataset that declares [1000, 64, 640, 640] and was never written).
    func readStored(_ d: Dataset, name: String) throws -> [UInt8] {
        try readStored(d, name: name, as: UInt8.self)
    }

    /// The stored bytes in storage of `T` (Float when they already are floats): every byte is
    /// written by the read (the file's data, or the fill value where the file has none).
    private func readStored<T>(_ d: Dataset, name: String, as: T.Type) throws -> [T] {
        let size = d.type.storedSize(offsetSize: structure.offsetSize)
        let storage = try checkedStorage(d, name: name, elementSize: size)
        let bytes = d.count * size, count = bytes / MemoryLayout<T>.stride
        precondition(count * MemoryLayout<T>.stride == bytes)
        var out = [T](unsafeUninitializedCapacity: count) { _, n in n = count }
        try out.withUnsafeMutableBytes { try storage.read(into: $0, dimensions: d.shape, elementSize: size, file: structure) }
        return out
    }

    private func checkedStorage(_ d: Dataset, name: String, elementSize: Int) throws -> HDF5Storage {
        let (declared, overflow) = d.count.multipliedReportingOverflow(by: max(elementSize, 1))
        guard !overflow, declared <= Self.maxDatasetBytes else {
            throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' declares \(overflow ? "more than 2^63" : "\(declared)") bytes, more than the \(Self.maxDatasetBytes >> 30) GiB Gantry reads")
        }
        let storage = try HDF5Storage(messages: d.object.messages, dimensions: d.shape, elementSize: elementSize, file: structure)
        let stored = try storage.storedBytes(dimensions: d.shape, elementSize: elementSize, file: structure)
        guard UInt64(declared) <= 1032 * min(stored, UInt64(Int.max / 2048)) + (1 << 20) else {
            throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' declares \(declared) bytes but the file stores only \(stored) for it (never written, or truncated)")
        }
        return storage
    }

    /// A numeric dataset converted to Float (integers, float16/32/64 of either byte order; h5py's
    /// bool, an 8-bit enum, as 0/1).
    public func readFloats(_ name: String) throws -> (shape: [Int], data: [Float]) {
        try about("dataset '\(name)'") { try floats(name) }
    }

    private func floats(_ name: String) throws -> (shape: [Int], data: [Float]) {
        let d = try dataset(name)
        switch d.type {
        case .floatingPoint(4, false):
            return (d.shape, try readStored(d, name: name, as: Float.self))
        case .fixedPoint, .floatingPoint:
            return (d.shape, try HDF5Values.floats(try readStored(d, name: name), type: d.type, count: d.count, file: structure))
        case .enumeration(let base, _) where base.size == 1:
            return (d.shape, try readStored(d, name: name).map { $0 != 0 ? 1 : 0 })
        default:
            throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(d.type.name), expected a real number array")
        }
    }

    /// A complex dataset (compound of two floats, as h5py's complex64/complex128) as interleaved
    /// Float pairs.
    public func readComplex(_ name: String) throws -> (shape: [Int], data: [Float]) {
        try about("dataset '\(name)'") { try complex(name) }
    }

    private func complex(_ name: String) throws -> (shape: [Int], data: [Float]) {
        let d = try dataset(name)
        guard d.type.isComplex, case .compound(_, let members) = d.type else {
            throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(d.type.name), expected complex")
        }
        if members[0].type == .floatingPoint(size: 4, bigEndian: false) {
            return (d.shape, try readStored(d, name: name, as: Float.self))
        }
        return (d.shape, try HDF5Values.floats(try readStored(d, name: name), type: members[0].type, count: 2 * d.count, file: structure))
    }

    /// A scalar string dataset (fixed or variable length, as h5py writes `bytes` or `str`), e.g.
    /// fastMRI's `ismrmrd_header`.
    public func readString(_ name: String) throws -> String {
        try about("dataset '\(name)'") { try string(name) }
    }

    private func string(_ name: String) throws -> String {
        let d = try dataset(name)
        guard d.count == 1 else { throw GantryError.invalidFile(path: path, problem: "dataset '\(name)' holds \(d.count) strings, not one") }
        switch d.type {
        case .string, .variableLength(_, true):
            return try HDF5Values.string(try readStored(d, name: name)[...], type: d.type, file: structure)
        default:
            throw GantryError.unsupported(path: path, problem: "dataset '\(name)' is \(d.type.name), expected a string")
        }
    }

    // MARK: Attributes

    /// Names and values of the attributes on `object` ("/" for the file). Values of types Gantry does
    /// not decode are nil.
    public func attributes(of object: String = "/") -> [(String, HDF5Value?)] {
        guard let o = try? self.object(object) else { return [] }
        return attributes(of: o)
    }

    private func attributes(of o: HDF5Object) -> [(String, HDF5Value?)] {
        guard let all = try? o.attributes() else { return [] }
        return all.sorted { $0.name < $1.name }.map { ($0.name, try? value(of: $0.attribute.get())) }
    }

    /// One attribute's value.
    public func attribute(_ name: String, of object: String = "/") throws -> HDF5Value {
        let o = try self.object(object)
        guard let a = try o.attributes().first(where: { $0.name == name }) else {
            throw GantryError.missingDataset(path: path, name: object == "/" ? name : "\(object)@\(name)")
        }
        return try about("attribute '\(name)'") { try value(of: a.attribute.get()) }
    }

    /// Errors while reading `what` name it.
    private func about<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch GantryError.invalidFile(let p, let m) where !m.contains(what) {
            throw GantryError.invalidFile(path: p, problem: "\(what): \(m)")
        }
    }

    private func value(of a: HDF5Object.Attribute) throws -> HDF5Value {
        let n = a.space.count
        switch a.type {
        case .string, .variableLength(_, true):
            guard n >= 1 else { return .string("") }
            return .string(try HDF5Values.string(a.data.prefix(a.type.storedSize(offsetSize: structure.offsetSize)), type: a.type, file: structure))
        case .fixedPoint:
            let v = try HDF5Values.integers(a.data, type: a.type, count: n, file: structure)
            return n == 1 ? .int(v[0]) : .doubles(v.map(Double.init))
        case .floatingPoint:
            let v = try HDF5Values.doubles(a.data, type: a.type, count: n, file: structure)
            return n == 1 && a.space.dimensions.isEmpty ? .double(v[0]) : .doubles(v)
        default:
            throw GantryError.unsupported(path: path, problem: "attribute '\(a.name)' has type \(a.type.name)")
        }
    }
}
