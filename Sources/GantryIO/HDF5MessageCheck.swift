/// Structural checks of the datatype and dataspace messages libhdf5 1.10 decodes without bounding
/// them (found by fuzzing: a compound member beyond its type's size made `H5Dread`'s conversion
/// copy out of bounds; a damaged attribute encoding was freed twice). Layouts from the HDF5 file
/// format specification (datatype message: class and version, 3 bytes of class bits, size, then
/// the class's properties; dataspace message: version, rank, flags, then the dimensions).
enum HDF5MessageCheck {
    struct Damage: Error { let what: String }

    /// Checks the datatype message at `b[at..<end]`; returns the type's size and the message's
    /// length. Compound members must lie inside the compound; nested types at most 16 deep.
    static func datatype(_ b: [UInt8], at: Int, end: Int, depth: Int = 0) throws -> (size: Int, length: Int) {
        guard depth < 16 else { throw Damage(what: "datatype nested more than 16 deep") }
        guard at >= 0, at + 8 <= end, end <= b.count else { throw Damage(what: "datatype message overruns its space") }
        let version = Int(b[at] >> 4), typeClass = Int(b[at] & 0x0F)
        guard (1...3).contains(version), typeClass <= 10 else { throw Damage(what: "datatype class \(typeClass) version \(version)") }
        let bits = Int(b[at + 1]) | Int(b[at + 2]) << 8
        let size = unsigned(b, at + 4, 4)
        var p = at + 8
        func need(_ n: Int) throws { guard n >= 0, p + n <= end else { throw Damage(what: "datatype message overruns its space") } }
        func name() throws {
            guard let nul = b[p..<end].firstIndex(of: 0) else { throw Damage(what: "datatype member name without its terminator") }
            let length = nul - p + 1
            try need(version < 3 ? (length + 7) & ~7 : length)
            p += version < 3 ? (length + 7) & ~7 : length
        }
        switch typeClass {
        case 0, 4: try need(4); p += 4                      // fixed-point, bitfield: offset, precision
        case 1: try need(12); p += 12                       // floating point
        case 2: try need(2); p += 2                         // time
        case 5: try need(bits & 0xFF); p += bits & 0xFF     // opaque: padded tag
        case 6:                                             // compound
            for _ in 0..<bits {
                try name()
                var offset = 0, count = 1
                if version < 3 {
                    try need(4); offset = unsigned(b, p, 4); p += 4
                    if version == 1 {                       // dimensionality, permutation, 4 sizes
                        try need(28)
                        for d in 0..<min(Int(b[p]), 4) { count *= max(1, unsigned(b, p + 12 + 4 * d, 4)) }
                        p += 28
                    }
                } else {
                    let width = size < 1 << 8 ? 1 : size < 1 << 16 ? 2 : size < 1 << 24 ? 3 : 4
                    try need(width); offset = unsigned(b, p, width); p += width
                }
                let member = try datatype(b, at: p, end: end, depth: depth + 1)
                p += member.length
                guard count <= size, offset + member.size * count <= size else {
                    throw Damage(what: "compound member at \(offset) of \(member.size * count) bytes beyond the type's \(size)")
                }
            }
        case 8:                                             // enumeration: base, names, values
            let base = try datatype(b, at: p, end: end, depth: depth + 1)
            p += base.length
            for _ in 0..<bits { try name() }
            try need(bits * base.size); p += bits * base.size
        case 9:                                             // variable length: base
            p += try datatype(b, at: p, end: end, depth: depth + 1).length
        case 10:                                            // array: rank, dimensions, base
            try need(1)
            let rank = Int(b[p])
            let skip = version == 2 ? 4 + 8 * rank : 1 + 4 * rank
            try need(skip); p += skip
            p += try datatype(b, at: p, end: end, depth: depth + 1).length
        default: break                                      // string, reference: no properties
        }
        return (size, p - at)
    }

    /// Checks the dataspace message at `b[at..<end]`: rank ≤ 32 and its dimensions inside.
    static func dataspace(_ b: [UInt8], at: Int, end: Int, lengthSize: Int) throws {
        guard at >= 0, at + 4 <= end, end <= b.count else { throw Damage(what: "dataspace message overruns its space") }
        let version = b[at], rank = Int(b[at + 1]), flags = b[at + 2]
        guard version == 1 || version == 2, rank <= 32 else { throw Damage(what: "dataspace version \(version) rank \(rank)") }
        let header = version == 1 ? 8 : 4
        guard at + header + rank * lengthSize * (flags & 0x01 != 0 ? 2 : 1) <= end else {
            throw Damage(what: "dataspace dimensions overrun the message")
        }
    }

    /// A little-endian field of at most 4 bytes.
    static func unsigned(_ b: [UInt8], _ at: Int, _ size: Int) -> Int {
        Int(HDF5ObjectHeader.unsigned(b, at: at, size: size))
    }
}
