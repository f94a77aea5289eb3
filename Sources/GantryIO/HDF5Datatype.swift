/// An HDF5 datatype message decoded (file format specification, "Datatype Message"): the element
/// layouts Gantry converts, and the rest by class so they can be named. Decoding is bounded: every
/// field inside its message, compound members inside their type, nesting at most 16 deep — the
/// checks libhdf5 1.10 lacks (fuzzing found a compound member beyond its type's size making
/// `H5Dread`'s conversion copy out of bounds).
indirect enum HDF5Datatype: Equatable, Sendable {
    case fixedPoint(size: Int, signed: Bool, bigEndian: Bool)
    case floatingPoint(size: Int, bigEndian: Bool)
    /// Fixed-length string; `size` bytes, padded with NULs or spaces.
    case string(size: Int)
    /// A variable-length sequence of `base` (`isString`: a variable-length string); stored as a
    /// length and a global-heap id.
    case variableLength(base: HDF5Datatype, isString: Bool)
    case compound(size: Int, members: [Member])
    case enumeration(base: HDF5Datatype, names: [String])
    case array(dimensions: [Int], base: HDF5Datatype)
    /// Time, bitfield, opaque, reference: read as bytes only.
    case other(typeClass: Int, size: Int)

    struct Member: Equatable, Sendable {
        var name: String
        var offset: Int
        var type: HDF5Datatype
    }

    struct Damage: Error { let what: String }

    /// Bytes per element as stored.
    var size: Int {
        switch self {
        case .fixedPoint(let s, _, _), .floatingPoint(let s, _), .string(let s), .compound(let s, _), .other(_, let s): return s
        case .variableLength: return 0   // set by the caller's offsetSize (`storedSize`)
        case .enumeration(let base, _): return base.size
        case .array(let dims, let base): return dims.reduce(1, *) * base.size
        }
    }

    /// The name `gantry info` prints, as NumPy/h5py would call the type.
    var name: String {
        switch self {
        case .fixedPoint(let s, let signed, _): return (signed ? "int" : "uint") + "\(s * 8)"
        case .floatingPoint(let s, _): return "float\(s * 8)"
        case .string, .variableLength(_, true): return "string"
        case .variableLength: return "vlen"
        case .compound(let s, _): return isComplex ? "complex\(s * 8)" : "compound"
        case .enumeration(let base, _): return base.size == 1 ? "bool" : "enum"
        case .array(_, let base): return "array of \(base.name)"
        case .other: return "other"
        }
    }

    /// Two floating-point members of one type at 0 and the type's size: h5py's complex64/128
    /// (`r`, `i`) or ISMRMRD's (`real`, `imag`).
    var isComplex: Bool {
        guard case .compound(let size, let m) = self, m.count == 2, case .floatingPoint(let s, _) = m[0].type,
              m[1].type == m[0].type, m[0].offset == 0, m[1].offset == s, size == 2 * s else { return false }
        return true
    }

    /// Decodes the datatype message at `b[at..<end]`; returns the type and the message's length.
    static func decode(_ b: [UInt8], at: Int, end: Int, depth: Int = 0) throws -> (type: HDF5Datatype, length: Int) {
        guard depth < 16 else { throw Damage(what: "datatype nested more than 16 deep") }
        guard at >= 0, at + 8 <= end, end <= b.count else { throw Damage(what: "datatype message overruns its space") }
        let version = Int(b[at] >> 4), typeClass = Int(b[at] & 0x0F)
        guard (1...3).contains(version), typeClass <= 10 else { throw Damage(what: "datatype class \(typeClass) version \(version)") }
        let bits = Int(b[at + 1]) | Int(b[at + 2]) << 8 | Int(b[at + 3]) << 16
        let size = field(b, at + 4, 4)
        // libhdf5 allows 4 GB elements; 16 MB is beyond any array element Gantry reads.
        guard size <= 1 << 24 else { throw Damage(what: "datatype of \(size) bytes") }
        var p = at + 8
        func need(_ n: Int) throws { guard n >= 0, p + n <= end else { throw Damage(what: "datatype message overruns its space") } }
        func name() throws -> String {
            guard p < end, let nul = b[p..<end].firstIndex(of: 0) else { throw Damage(what: "datatype member name without its terminator") }
            let s = String(decoding: b[p..<nul], as: UTF8.self)
            let length = nul - p + 1
            try need(version < 3 ? (length + 7) & ~7 : length)
            p += version < 3 ? (length + 7) & ~7 : length
            return s
        }
        let type: HDF5Datatype
        switch typeClass {
        case 0:                                             // fixed point: offset, precision
            try need(4); p += 4
            type = .fixedPoint(size: size, signed: bits & 0x08 != 0, bigEndian: bits & 0x01 != 0)
        case 1:                                             // floating point: IEEE layouts only
            try need(12)
            let precision = field(b, p + 2, 2), exponentAt = Int(b[p + 4]), exponentBits = Int(b[p + 5])
            let mantissaAt = Int(b[p + 6]), mantissaBits = Int(b[p + 7]), offset = field(b, p, 2)
            p += 12
            let ieee: [Int: [Int]] = [2: [16, 10, 5, 0, 10], 4: [32, 23, 8, 0, 23], 8: [64, 52, 11, 0, 52]]
            if bits & 0x40 == 0, offset == 0, ieee[size] == [precision, exponentAt, exponentBits, mantissaAt, mantissaBits] {
                type = .floatingPoint(size: size, bigEndian: bits & 0x01 != 0)
            } else {
                type = .other(typeClass: 1, size: size)     // VAX order or a custom layout
            }
        case 2: try need(2); p += 2; type = .other(typeClass: 2, size: size)
        case 3: type = .string(size: size)
        case 4: try need(4); p += 4; type = .other(typeClass: 4, size: size)
        case 5: try need(bits & 0xFF); p += bits & 0xFF; type = .other(typeClass: 5, size: size)
        case 6:                                             // compound
            var members: [Member] = []
            for _ in 0..<(bits & 0xFFFF) {
                let memberName = try name()
                var offset = 0, dims: [Int] = []
                if version < 3 {
                    try need(4); offset = field(b, p, 4); p += 4
                    if version == 1 {                       // dimensionality, reserved, permutation, reserved, 4 sizes
                        try need(28)
                        dims = (0..<min(Int(b[p]), 4)).map { field(b, p + 12 + 4 * $0, 4) }
                        p += 28
                    }
                } else {
                    let width = size < 1 << 8 ? 1 : size < 1 << 16 ? 2 : size < 1 << 24 ? 3 : 4
                    try need(width); offset = field(b, p, width); p += width
                }
                let member = try decode(b, at: p, end: end, depth: depth + 1)
                p += member.length
                guard dims.allSatisfy({ $0 >= 1 && $0 <= size }) else { throw Damage(what: "compound member '\(memberName)' dimensions \(dims)") }
                let memberType = dims.isEmpty ? member.type : .array(dimensions: dims, base: member.type)
                let memberSize = memberType.storedSize(offsetSize: 8)
                guard offset <= size, memberSize <= size - offset else {
                    throw Damage(what: "compound member at \(offset) of \(memberSize) bytes beyond the type's \(size)")
                }
                members.append(Member(name: memberName, offset: offset, type: memberType))
            }
            type = .compound(size: size, members: members)
        case 7: type = .other(typeClass: 7, size: size)
        case 8:                                             // enumeration: base, names, values
            let base = try decode(b, at: p, end: end, depth: depth + 1)
            p += base.length
            var names: [String] = []
            for _ in 0..<(bits & 0xFFFF) { names.append(try name()) }
            try need((bits & 0xFFFF) * base.type.size); p += (bits & 0xFFFF) * base.type.size
            type = .enumeration(base: base.type, names: names)
        case 9:                                             // variable length: base
            let base = try decode(b, at: p, end: end, depth: depth + 1)
            p += base.length
            // A string's characters are bytes; libhdf5 allocates length × base size.
            guard bits & 0x0F != 1 || base.type.size == 1 else { throw Damage(what: "variable-length string of \(base.type.size)-byte characters") }
            type = .variableLength(base: base.type, isString: bits & 0x0F == 1)
        default:                                            // 10, array: rank, dimensions, base
            try need(1)
            let rank = Int(b[p])
            let skip = version == 2 ? 4 + 8 * rank : 1 + 4 * rank
            try need(skip)
            let dims = (0..<rank).map { field(b, p + (version == 2 ? 4 : 1) + 4 * $0, 4) }
            p += skip
            let base = try decode(b, at: p, end: end, depth: depth + 1)
            p += base.length
            let elements = dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 })
            guard rank <= 32, dims.allSatisfy({ $0 >= 1 }), elements <= 1 << 24,
                  !elements.multipliedReportingOverflow(by: base.type.storedSize(offsetSize: 8)).overflow,
                  elements * base.type.storedSize(offsetSize: 8) <= 1 << 24 else {
                throw Damage(what: "array datatype dimensions \(dims)")
            }
            type = .array(dimensions: dims, base: base.type)
        }
        return (type, p - at)
    }

    /// Stored bytes per element; a variable-length element is a 4-byte length and a global-heap
    /// id (an address and a 4-byte index).
    func storedSize(offsetSize: Int) -> Int {
        switch self {
        case .variableLength: return 4 + offsetSize + 4
        case .array(let dims, let base): return dims.reduce(1, *) * base.storedSize(offsetSize: offsetSize)
        default: return size
        }
    }

    /// A member of a compound type by name.
    func member(_ name: String) -> Member? {
        guard case .compound(_, let members) = self else { return nil }
        return members.first { $0.name == name }
    }

    /// A little-endian field of at most 4 bytes.
    static func field(_ b: [UInt8], _ at: Int, _ size: Int) -> Int {
        Int(HDF5Structure.unsigned(b, at: at, size: size))
    }
}

/// An HDF5 dataspace message decoded: the dimensions (empty for a scalar); nil extent for the
/// null dataspace (no elements).
struct HDF5Dataspace: Equatable, Sendable {
    var dimensions: [Int]
    var isNull = false
    /// Axes whose maximum size is unlimited.
    var unlimitedAxes: [Int] = []

    var count: Int { isNull ? 0 : dimensions.reduce(1, *) }

    /// Decodes `b[at..<end]`: rank ≤ 32, dimensions inside the message, their product < 2⁴⁰.
    static func decode(_ b: [UInt8], at: Int, end: Int, lengthSize: Int) throws -> HDF5Dataspace {
        guard at >= 0, at + 4 <= end, end <= b.count else { throw HDF5Datatype.Damage(what: "dataspace message overruns its space") }
        let version = b[at], rank = Int(b[at + 1]), flags = b[at + 2]
        guard version == 1 || version == 2, rank <= 32 else { throw HDF5Datatype.Damage(what: "dataspace version \(version) rank \(rank)") }
        let header = version == 1 ? 8 : 4
        guard at + header + rank * lengthSize * (flags & 0x01 != 0 ? 2 : 1) <= end else {
            throw HDF5Datatype.Damage(what: "dataspace dimensions overrun the message")
        }
        let dims = (0..<rank).map { Int(clamping: HDF5Structure.unsigned(b, at: at + header + $0 * lengthSize, size: lengthSize)) }
        // Each dimension and their product below 2⁴⁰ (a zero dimension does not excuse the others).
        guard dims.allSatisfy({ $0 < 1 << 40 }), dims.reduce(1, { max($0, 1).multipliedReportingOverflow(by: max($1, 1)).overflow ? Int.max : max($0, 1) * max($1, 1) }) < 1 << 40 else {
            throw HDF5Datatype.Damage(what: "dataspace of \(dims) elements")
        }
        let unlimited = flags & 0x01 == 0 ? [] : (0..<rank).filter {
            HDF5Structure.unsigned(b, at: at + header + (rank + $0) * lengthSize, size: lengthSize) == (lengthSize >= 8 ? UInt64.max : (1 << UInt64(8 * lengthSize)) - 1)
        }
        return HDF5Dataspace(dimensions: dims, isNull: version == 2 && b[at + 3] == 2, unlimitedAxes: unlimited)
    }
}
