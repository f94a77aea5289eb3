import GantryCore

/// NIfTI voxel datatypes Gantry reads and writes (codes from nifti1.h).
public enum NIfTIDataType: Int32, CaseIterable, Sendable {
    case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, complex64 = 32, float64 = 64
    case int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280

    /// Bytes per voxel.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .complex64, .int64, .uint64: return 8
        }
    }

    public var name: String { String(describing: self) }

    /// Parses names such as "uint8", "int16", "float32".
    public init?(name: String) {
        guard let t = NIfTIDataType.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = t
    }

    public var isInteger: Bool { !(self == .float32 || self == .float64 || self == .complex64) }

    /// Representable range for integer types.
    var range: ClosedRange<Double> {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return Double(Int32.min)...Double(Int32.max)
        case .uint32: return 0...Double(UInt32.max)
        case .int64: return -9.223372036854775e18...9.223372036854775e18
        case .uint64: return 0...1.8446744073709552e19
        default: return -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }

    /// Human name of any NIfTI code (for error messages about unsupported types).
    static func describe(code: Int32) -> String {
        if let t = NIfTIDataType(rawValue: code) { return t.name }
        switch code {
        case 1: return "binary (code 1)"
        case 128: return "RGB24 (code 128)"
        case 1536: return "float128 (code 1536)"
        case 1792: return "complex128 (code 1792)"
        case 2048: return "complex256 (code 2048)"
        case 2304: return "RGBA32 (code 2304)"
        default: return "unknown datatype code \(code)"
        }
    }
}

/// Decoding and encoding of raw voxel bytes.
enum VoxelCodec {
    /// Converts `count` stored values (little- or big-endian per `swap`) to Float, applying
    /// value = raw · slope + inter when `scale` is given.
    static func decode(_ src: UnsafeRawPointer, count: Int, type: NIfTIDataType, swap: Bool, scale: (slope: Double, inter: Double)?, into dst: UnsafeMutablePointer<Float>) {
        @inline(__always) func run<T>(_: T.Type, _ conv: (T) -> Float) {
            let p = src.bindMemory(to: T.self, capacity: count)
            Parallel.forEach(max(1, count >> 20)) { chunk in
                let chunks = max(1, count >> 20)
                let lo = count * chunk / chunks, hi = count * (chunk + 1) / chunks
                for i in lo..<hi { dst[i] = conv(UnsafeRawPointer(p + i).loadUnaligned(as: T.self)) }
            }
        }
        switch type {
        case .uint8: run(UInt8.self) { Float($0) }
        case .int8: run(Int8.self) { Float($0) }
        case .int16: run(Int16.self) { Float(swap ? $0.byteSwapped : $0) }
        case .uint16: run(UInt16.self) { Float(swap ? $0.byteSwapped : $0) }
        case .int32: run(Int32.self) { Float(swap ? $0.byteSwapped : $0) }
        case .uint32: run(UInt32.self) { Float(swap ? $0.byteSwapped : $0) }
        case .int64: run(Int64.self) { Float(swap ? $0.byteSwapped : $0) }
        case .uint64: run(UInt64.self) { Float(swap ? $0.byteSwapped : $0) }
        case .float32:
            if swap { run(UInt32.self) { Float(bitPattern: $0.byteSwapped) } } else { dst.update(from: src.assumingMemoryBound(to: Float.self), count: count) }
        case .float64: run(UInt64.self) { Float(Double(bitPattern: swap ? $0.byteSwapped : $0)) }
        case .complex64: // count is the number of floats here (2 per voxel)
            if swap { run(UInt32.self) { Float(bitPattern: $0.byteSwapped) } } else { dst.update(from: src.assumingMemoryBound(to: Float.self), count: count) }
        }
        if let s = scale {
            let a = Float(s.slope), b = Float(s.inter)
            if type == .float64 || type.isInteger && (abs(s.slope) > 1e6 || abs(s.inter) > 1e6) {
                // Keep double precision for the multiply where float rounding would show.
                for i in 0..<count { dst[i] = Float(Double(dst[i]) * s.slope + s.inter) }
            } else {
                for i in 0..<count { dst[i] = dst[i] * a + b }
            }
        }
    }

    /// Encodes Float voxels as `type` (little-endian), inverting scaling when given. Integer types
    /// are rounded to nearest; a value that is NaN or does not fit is an error.
    static func encode(_ src: [Float], type: NIfTIDataType, scale: (slope: Double, inter: Double)?, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: src.count * (type == .complex64 ? 4 : type.size))
        var badValue: Float? = nil
        let range = type.range
        out.withUnsafeMutableBytes { o in
            src.withUnsafeBufferPointer { s in
                func put<T>(_: T.Type, _ conv: (Double) -> T) {
                    let p = o.baseAddress!.bindMemory(to: T.self, capacity: s.count)
                    for i in 0..<s.count {
                        var v = Double(s[i])
                        if let sc = scale { v = (v - sc.inter) / sc.slope }
                        let r = v.rounded()
                        if !(range.contains(r)) { badValue = s[i]; return }
                        p[i] = conv(r)
                    }
                }
                switch type {
                case .float32:
                    o.baseAddress!.copyMemory(from: s.baseAddress!, byteCount: s.count * 4)
                case .complex64:
                    o.baseAddress!.copyMemory(from: s.baseAddress!, byteCount: s.count * 4)
                case .float64:
                    let p = o.baseAddress!.bindMemory(to: Double.self, capacity: s.count)
                    for i in 0..<s.count { p[i] = Double(s[i]) }
                case .uint8: put(UInt8.self) { UInt8($0) }
                case .int8: put(Int8.self) { Int8($0) }
                case .int16: put(Int16.self) { Int16($0) }
                case .uint16: put(UInt16.self) { UInt16($0) }
                case .int32: put(Int32.self) { Int32($0) }
                case .uint32: put(UInt32.self) { UInt32($0) }
                case .int64: put(Int64.self) { Int64($0) }
                case .uint64: put(UInt64.self) { UInt64($0) }
                }
            }
        }
        if let b = badValue {
            throw GantryError.invalidArgument("\(path): value \(b) cannot be stored as \(type.name)")
        }
        return out
    }
}
