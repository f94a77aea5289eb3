/// Stored HDF5 elements converted to Swift values: integers and floats of either byte order,
/// IEEE half, single and double precision; fixed-length and variable-length strings.
enum HDF5Values {
    /// `count` elements of a fixed- or floating-point type as Float.
    static func floats(_ raw: [UInt8], type: HDF5Datatype, count: Int, file: HDF5Structure) throws -> [Float] {
        try doubles(raw, type: type, count: count, file: file).map(Float.init)
    }

    static func doubles(_ raw: [UInt8], type: HDF5Datatype, count: Int, file: HDF5Structure) throws -> [Double] {
        let size = type.size
        guard raw.count >= count * size else { throw file.damaged( "\(raw.count) bytes for \(count) elements") }
        return raw.withUnsafeBytes { b in (0..<count).map { value(b, at: $0 * size, type: type) } }
    }

    static func integers(_ raw: [UInt8], type: HDF5Datatype, count: Int, file: HDF5Structure) throws -> [Int] {
        guard case .fixedPoint(let size, let signed, let bigEndian) = type, [1, 2, 4, 8].contains(size), raw.count >= count * size else {
            throw file.damaged( "an integer attribute of type \(type.name)")
        }
        return raw.withUnsafeBytes { b in (0..<count).map { Int(truncatingIfNeeded: bits(b, at: $0 * size, size: size, bigEndian: bigEndian, signed: signed)) } }
    }

    /// One element's value (0 for types without a numeric value).
    static func value(_ b: UnsafeRawBufferPointer, at: Int, type: HDF5Datatype) -> Double {
        switch type {
        case .fixedPoint(let size, let signed, let bigEndian) where [1, 2, 4, 8].contains(size):
            let v = bits(b, at: at, size: size, bigEndian: bigEndian, signed: signed)
            return signed ? Double(Int64(bitPattern: v)) : Double(v)
        case .floatingPoint(let size, let bigEndian):
            let v = bits(b, at: at, size: size, bigEndian: bigEndian, signed: false)
            switch size {
            case 2: return Double(Float16(bitPattern: UInt16(truncatingIfNeeded: v)))
            case 4: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: v)))
            default: return Double(bitPattern: v)
            }
        default: return 0
        }
    }

    /// `size` bytes as an unsigned 64-bit pattern (sign-extended when `signed`).
    static func bits(_ b: UnsafeRawBufferPointer, at: Int, size: Int, bigEndian: Bool, signed: Bool) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(b[at + (bigEndian ? size - 1 - i : i)]) << UInt64(8 * i) }
        if signed && size < 8 && v & (1 << UInt64(8 * size - 1)) != 0 { v |= ~((1 << UInt64(8 * size)) - 1) }
        return v
    }

    /// One stored string element: fixed-length up to its first NUL, or variable-length from the
    /// global heap.
    static func string(_ element: ArraySlice<UInt8>, type: HDF5Datatype, file: HDF5Structure) throws -> String {
        switch type {
        case .string(let size):
            return String(decoding: element.prefix(size).prefix { $0 != 0 }, as: UTF8.self)
        case .variableLength(_, true):
            return String(decoding: try file.variableLengthValue(element, baseSize: 1).prefix { $0 != 0 }, as: UTF8.self)
        default:
            throw file.damaged( "a string of type \(type.name)")
        }
    }
}
